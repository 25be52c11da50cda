"""First-hour stumbles (issue 27): one-line errors where a new user would get a traceback, and the
benchmark scripts on a fresh clone (no MNIST pool beside it)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_count_activity_with_magic_run_says_how():
    from brian2 import magic_network
    from brian_snn import count_activity
    for net in (None, magic_network):
        with pytest.raises(ValueError, match=r"Network\(collect\(\)\)"):
            count_activity(net)


def test_counts_rejects_an_unknown_phase_at_once():
    from brian_snn.activity import ActivityCounter
    with pytest.raises(ValueError, match="phase must be one of training, inference, got 'train'"):
        ActivityCounter([]).counts("train", steps=1, dt_s=1e-3)


def test_pool_dir_without_the_pool_is_one_line(tmp_path):
    from brian_snn.data import DataError
    from brian_snn.data.pool import ensure_pool
    with pytest.raises(DataError, match=r"--data-dir .* does not hold mnist8k-images-idx3-ubyte.gz"):
        ensure_pool(tmp_path, "benchmarks/static_mnist.py")


@pytest.mark.parametrize("script", ["static_mnist.py", "continual_mnist.py", "topspark.py"])
def test_benchmark_scripts_fresh_clone(script, tmp_path):
    """--help works from any folder; an empty --data-dir is one line naming --data-dir (no Dask, no Brian2)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--help"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "--data-dir" in p.stdout, p.stderr
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--data-dir", str(tmp_path)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "--data-dir" in p.stderr and "Traceback" not in p.stderr
