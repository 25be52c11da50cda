"""Bad input to ``brian-snn`` is refused before any build or simulation: exit status 2, one line
``brian-snn: error: ...`` on stderr, no traceback, and the working folder unchanged (nothing
written, nothing lost).  CASES is the table in docs/errors.md (## brian-snn); a test checks that
they agree.  Also: the output lock (two writers, stale locks), per-process temporary files, stale
build files of dead processes, bounded ``make -j`` and the memory estimate."""
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from brian_snn import checks, files
from brian_snn.cli import main
from brian_snn.store import write_results

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


# -- what a case finds in its (empty, current) working folder before it runs ------------------------
def _finished(tmp):
    write_results("x.h5", {"config": {"config_key": "0123"}, "arrays": {"weights": np.zeros(3)},
                           "scalars": {"accuracy": 0.5}})


def _checkpoint(tmp):
    write_results("x.h5", {"config": {"config_key": "0123"},
                           "checkpoint": {"meta": {"config_key": "0123"}, "state": {"w": np.zeros(3)}}})


def _notes(tmp):
    Path("x.h5").write_text("my notes\n")


def _mnist_files(tmp):
    """An IDX pool of real MNIST digits (the packaged ones) in m/."""
    from brian_snn.data import load_embedded, write_idx
    ds = load_embedded()
    Path("m").mkdir()
    write_idx("m/digits-images-idx3-ubyte.gz", ds.x_test.reshape(-1, 28, 28))
    write_idx("m/digits-labels-idx1-ubyte.gz", ds.y_test)


def _folder(tmp):
    Path("d").mkdir()


def _file(tmp):
    Path("f").write_text("")


def _readonly(tmp, monkeypatch):
    Path("ro").mkdir(mode=0o555)
    if os.geteuid() == 0:        # root may write anyway: the check must still see "not writable"
        from brian_snn import checks
        real = os.access
        monkeypatch.setattr(checks.os, "access",
                            lambda p, mode, **kw: False if Path(p).name == "ro" else real(p, mode, **kw))


def _h5(schema, **attrs):
    def make(tmp):
        with h5py.File("x.h5", "w") as f:
            f.attrs.update(schema=schema, **attrs)
    return make


def _timestep_done(tmp):
    Path("ts").mkdir()
    Path("ts/timestep.json").write_text("{}")


def _nir_nested(tmp):
    """A NIR graph with a node brian-snn does not support (a nested graph)."""
    import nir
    inner = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))))
    nir.write("g.nir", nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), inner, type_check=False))


def _nir_huge_input(tmp):
    """A small file declaring an Input of 10^9 neurons (nothing of that size is in it)."""
    import nir
    nir.write("g.nir", nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([10 ** 9])),
                                           "output": nir.Output(output_type=np.array([10 ** 9]))},
                                    edges=[("input", "output")], type_check=False))


def _nir_long_delay(tmp):
    """A 2-neuron graph with a Delay of 10^6 s."""
    import nir
    nir.write("g.nir", nir.NIRGraph.from_list(nir.Delay(delay=np.array([1e6, 1e6])), type_check=False))


def _nir_external_link(tmp):
    """A NIR file whose node group links to another file."""
    import h5py
    with h5py.File("other.h5", "w") as f:
        f.create_group("node")
    with h5py.File("g.nir", "w") as f:
        f["node"] = h5py.ExternalLink("other.h5", "/node")


def _trained(**change):
    """A results file ``r.h5`` of a (never run) 10-neuron SpikeDyn with ``change`` applied:
    config keys (None: removed) or arrays (None: removed)."""
    def make(tmp):
        from brian_snn.encoding import Presentation
        from brian_snn.experiments.train_eval import TrainConfig, _config_dict
        from brian_snn.models import get_model_spec
        spec = get_model_spec("spikedyn", n_exc=10, n_input=784)
        r = {"config": _config_dict(TrainConfig(n_exc=10), spec, Presentation()), "scalars": {"accuracy": 0.5},
             "arrays": {"weights": np.full((784, 10), 0.1), "thresholds_theta_V": np.zeros(10),
                        "assignments": np.arange(10)}}
        for k, v in change.items():
            where = r["config"] if k in r["config"] else r["arrays"]
            if v is None:
                where.pop(k)
            else:
                where[k] = v
        write_results("r.h5", r)
    return make


def _config_list(tmp):
    _trained()(tmp)
    with h5py.File("r.h5", "a") as f:
        f.attrs["config"] = "[1, 2]"


def _checkpoint_without_meta(tmp):
    _checkpoint(tmp)
    with h5py.File("x.h5", "a") as f:
        del f["checkpoint"].attrs["meta"]


def _json_list(tmp):
    Path("l.json").write_text("[1, 2]")


def _with(*setups):
    def make(tmp):
        for s in setups:
            s(tmp)
    return make


def _named(name, text="mine\n"):
    def make(tmp):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    return make


def _fifo(name):
    def make(tmp):
        os.mkfifo(name)
    return make


def _external_link(tmp):
    _trained()(tmp)
    with h5py.File("r.h5", "a") as f:
        f["x"] = h5py.ExternalLink("other.h5", "/")


HOLDER = ("import sys\nfrom brian_snn.files import output_lock\n"
          "with output_lock(sys.argv[1]):\n    print('locked', flush=True)\n    sys.stdin.read()\n")


def _hold_lock(out):
    """Start a process that holds the lock of ``out`` until its stdin closes."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER, out], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def _locked(tmp):
    return _hold_lock("x.h5")


class _GarbageServer:
    """A TCP server on a free local port that answers every connection with random bytes (not
    Dask's protocol; ``silent``: it accepts and sends nothing).  ``communicate()`` stops it, as
    :func:`_hold_lock`'s process is stopped; a case's ``PORT`` is its port."""

    def __init__(self, silent=False):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port, self.silent, self.conns, self.stop = self.sock.getsockname()[1], silent, [], threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            if not self.silent:
                threading.Thread(target=self._babble, args=(conn,), daemon=True).start()

    def _babble(self, conn):
        conn.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn.sendall(os.urandom(4096))
            except socket.timeout:
                continue
            except OSError:             # the client hung up
                return

    def communicate(self, _=None):
        self.stop.set()
        self.sock.close()
        for c in self.conns:
            c.close()


def _garbage_server(tmp):
    return _GarbageServer()


def _memory(avail):
    def patch(tmp, monkeypatch):
        monkeypatch.setattr(checks, "available_memory", lambda: avail)
    return patch


def _env(name, value):
    def patch(tmp, monkeypatch):
        monkeypatch.setenv(name, value)
    patch.shown = f"{name}={value} "                # shown before the command in the table
    return patch


# (case, argv, setup, message): "…" in a message stands for any text (numbers, paths, lists).
CASES = [
    ("unknown --param name", ["train", "--param", "bogus=1"], None,
     "--param bogus: spikedyn has no parameter 'bogus'; valid: max_delay_ms, structure_seed, nu_post, x_tar, "
     "norm, theta_plus_mV, tau_theta_ms, w_lat, n_half, tau_pre_ms, weight_bits, inhibitory_layer, lr_adaptation, "
     "lr_forget, min_response, decay, w_ei, w_ie, theta_window_alpha"),
    ("--param of a structural option", ["train", "--param", "n_exc=5"], None,
     "--param n_exc: not a --param; use --neurons"),
    ("--param without a name", ["train", "--param", "=3"], None, "--param expects NAME=VALUE, got '=3'"),
    ("--param value not a number", ["train", "--param", "nu_post=fast"], None, "--param nu_post: 'fast' is not a number"),
    ("--param value not finite", ["train", "--param", "nu_post=nan"], None,
     "--param nu_post: 'nan' is not a finite number"),
    ("negative --param value", ["train", "--param", "nu_post=-1"], None,
     "spikedyn: parameter nu_post must be >= 0, got -1.0"),
    ("zero time constant", ["train", "--model", "diehl-cook", "--param", "tau_theta_ms=0"], None,
     "diehl-cook: parameter tau_theta_ms must be > 0, got 0.0"),
    ("no training samples", ["train", "--train-samples", "0"], None,
     "argument --train-samples: expected a positive integer (at least 1 sample), got '0'"),
    ("no test samples", ["train", "--test-samples", "0"], None,
     "argument --test-samples: expected a positive integer (at least 1 sample), got '0'"),
    ("Fashion-MNIST asked for, MNIST files given", ["train", "--dataset", "fashion-mnist", "--data-dir", "m"],
     _mnist_files, "--dataset fashion-mnist, but --data-dir m holds MNIST: … of its images are MNIST images "
     "shipped with brian-snn; pass --dataset mnist, or a folder of Fashion-MNIST files"),
    ("misspelled --target", ["train", "--target", "loihi1,jetson-nan"], None,
     "unknown target 'jetson-nan'; did you mean 'jetson-nano'? (known: …; or a target TOML file)"),
    ("missing target file", ["train", "--target", "mine.toml"], None, "mine.toml: target file not found"),
    ("--out is a folder", ["train", "--out", "d"], _folder, "--out d: is a folder; expected a file name"),
    ("--out inside a file", ["train", "--out", "f/x.h5"], _file, "--out f/x.h5: …/f is not a folder"),
    ("--out in a read-only folder", ["train", "--out", "ro/x.h5"], _readonly,
     "--out ro/x.h5: folder …/ro is not writable"),
    ("network larger than memory", ["train", "--neurons", "200000"], None,
     "spikedyn with 200000 neurons needs about … GB of memory (40,157,000,784 synapses), but … is available; "
     "use fewer --neurons (or set BRIAN_SNN_NO_MEMORY_CHECK=1 to run anyway)"),
    ("20,000 neurons, 8 GB free", ["train", "--neurons", "20000"], _memory(8e9),
     "spikedyn with 20000 neurons needs about 15.3 GB of memory (415,700,784 synapses), but 8.0 GB is available; …"),
    ("bad BRIAN_SNN_MAKE_JOBS", ["train"], _env("BRIAN_SNN_MAKE_JOBS", "0"),
     "BRIAN_SNN_MAKE_JOBS must be an integer in [1, 1024], got '0'"),
    ("BRIAN_SNN_MAKE_JOBS of 10**30", ["train"], _env("BRIAN_SNN_MAKE_JOBS", str(10 ** 30)),
     "BRIAN_SNN_MAKE_JOBS must be an integer in [1, 1024], got '10000000000000000...'"),
    ("train: --param max_delay_ms=1e9", ["train", "--param", "max_delay_ms=1e9"], None,
     "…max_delay_ms must be <= 10000 (a presentation is a few hundred ms), got 1000000000.0"),
    ("--out holds finished results", ["train", "--out", "x.h5"], _finished,
     "x.h5 holds finished results of another configuration; pass --force to overwrite it, or choose another --out"),
    ("--out holds another run's checkpoint", ["train", "--out", "x.h5"], _checkpoint,
     "x.h5 holds a checkpoint of another configuration (these options cannot resume it); pass --force …"),
    ("--out is another kind of file", ["train", "--out", "x.h5"], _notes,
     "x.h5 is not a results file of this command (not a readable HDF5 file); pass --force …"),
    ("--out written by a live run", ["train", "--out", "x.h5"], _locked,
     "x.h5 is being written by another run (process … on …, lock …/x.h5.lock); "
     "wait for it to finish or choose another --out"),
    ("continual: --param weight_bits", ["continual", "--param", "weight_bits=4"], None,
     "--param weight_bits: not a --param; use --weight-bits"),
    ("continual: --out holds finished results", ["continual", "--out", "x.h5"],
     _h5("brian-snn-continual/1", config="{}"),
     "x.h5 holds finished results of another configuration; pass --force …"),
    ("continual: network larger than memory", ["continual", "--neurons", "200000"], None,
     "spikedyn with 200000 neurons needs about … GB of memory …"),
    ("compare: --param of a structural option", ["compare", "--param", "n_exc=5"], None,
     "--param n_exc: not a --param; use --neurons"),
    ("search: network larger than memory", ["search", "--neurons", "100,200000"], None,
     "spikedyn with 200000 neurons needs about … GB of memory …"),
    ("timestep: misspelled --target", ["timestep", "--target", "jetson-nan"], None,
     "unknown target 'jetson-nan'; did you mean 'jetson-nano'? …"),
    ("timestep: --out holds a finished sweep", ["timestep", "--out", "ts"], _timestep_done,
     "ts holds finished results; pass --force …"),
    ("solsa: --out exists", ["solsa", "--out", "x.h5"], _h5("brian-snn-solsa/1"),
     "x.h5 holds finished results; pass --force …"),
    ("export: --out is a file", ["export", "--out", "f"], _file, "--out f: is a file; expected a folder"),
    ("export --format nir without --results", ["export", "--format", "nir"], None,
     "--format nir needs --results FILE.h5 (written by 'brian-snn solsa --out' or 'brian-snn train --out')"),
    ("nir run: not a NIR file", ["nir", "run", "f", "--random", "0.1"], _file,
     "f: not a NIR file (no HDF5 signature: truncated or another format?)"),
    ("nir run: unsupported node", ["nir", "run", "g.nir", "--random", "0.1"], _nir_nested,
     "node 'nirgraph' (NIRGraph): nested graphs are not supported (flatten the subgraph into the parent); "
     "supported: Input, Output, Affine, Linear, Scale, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d, Delay, "
     "Threshold, LIF, CubaLIF, IF, LI, CubaLI, I"),
    ("nir run: an Input of 10^9 neurons declared in a small file", ["nir", "run", "g.nir", "--random", "0.1"],
     _nir_huge_input, "node 'input' (Input): 1,000,000,000 inputs declared, more than 10,000,000 per node"),
    ("nir run: a Delay of 10^6 s", ["nir", "run", "g.nir", "--random", "0.1", "--dt", "0.001"], _nir_long_delay,
     "…: a delay of 1e+06 s is 1,000,000,000 steps of dt = 0.001 s, more than 1,000,000 (the spike queue would "
     "hold every step)"),
    ("nir run: an HDF5 external link in the NIR file", ["nir", "run", "g.nir", "--random", "0.1"], _nir_external_link,
     "g.nir: HDF5 external link /node -> other.h5:/node refused (a results or NIR file must hold its own data)"),
    ("nir run: misspelled --target", ["nir", "run", "g.nir", "--random", "0.1", "--target", "jetson-nan"], None,
     "unknown target 'jetson-nan'; did you mean 'jetson-nano'? …"),
    # -- issue 29: inputs that gave a traceback
    ("train: --neurons 10**30", ["train", "--neurons", str(10 ** 30)], None,
     "argument --neurons: expected a positive integer, at most 2,147,483,647, got '10000000000...000' (31 characters)"),
    ("timestep: a window of 1e308 ms", ["timestep", "--windows", "1e308,350"], None,
     "argument --windows: expected numbers up to 1e+09, got '1e308'"),
    ("timestep --from a JSON list", ["timestep", "--from", "l.json"], _json_list,
     "l.json: not a 'brian-snn timestep' result (a JSON list, expected an object)"),
    ("export --format nir --dt 0", ["export", "--format", "nir", "--dt", "0"], None,
     "argument --dt: --dt must be a time > 0 such as 1ms, 100us or 1e-4 (seconds), got '0'"),
    ("solsa: --hidden 100000000", ["solsa", "--hidden", "100000000"], None,
     "--hidden 100,000,000 is more than 20,000 neurons per layer (the weights between two such layers alone "
     "would take 80,000,000 GB)"),
    ("train --out: a checkpoint without its meta attribute", ["train", "--out", "x.h5"], _checkpoint_without_meta,
     "x.h5 is not a results file of this command (attribute /checkpoint/@meta is missing (damaged file?)); "
     "pass --force …"),
    ("evaluate: no model in the configuration", ["evaluate", "r.h5"], _trained(model=None),
     "r.h5: its configuration names no known model (model None; known: diehl-cook, asp, asp-decay, spikedyn); "
     "not a 'brian-snn train' results file?"),
    ("evaluate: a configuration that is a JSON list", ["evaluate", "r.h5"], _config_list,
     "r.h5: attribute /@config is not a JSON object (damaged file?)"),
    ("evaluate: chunk_slots 1e12", ["evaluate", "r.h5"], _trained(chunk_slots=10 ** 12),
     "r.h5: configuration chunk_slots must be an integer in [1, 100,000], got 1000000000000"),
    ("evaluate: byte-string weights", ["evaluate", "r.h5"], _trained(weights=np.full((784, 10), b"ab")),
     "r.h5: dataset /weights holds |S2 values, not numbers (damaged file?)"),
    ("evaluate: 3 assignments for 10 neurons", ["evaluate", "r.h5"], _trained(assignments=np.arange(3)),
     "r.h5: dataset /assignments has shape (3,), expected (10,) for this network (damaged or edited file?)"),
    ("evaluate: no thresholds", ["evaluate", "r.h5"], _trained(thresholds_theta_V=None),
     "r.h5: dataset /thresholds_theta_V is missing (damaged file?)"),
    # -- issue 29: silent wrong results
    ("evaluate: NaN weights", ["evaluate", "r.h5"], _trained(weights=np.full((784, 10), np.nan)),
     "r.h5: dataset /weights holds 7840 non-finite values (NaN or inf; damaged file?)"),
    ("evaluate: assignments of class 99", ["evaluate", "r.h5"], _trained(assignments=np.full(10, 99)),
     "r.h5: dataset /assignments holds values outside [-1, 9] (damaged or edited file?)"),
    ("evaluate: transposed weights (were reshaped)", ["evaluate", "r.h5"], _trained(weights=np.full((10, 784), 0.1)),
     "r.h5: dataset /weights has shape (10, 784), expected (784, 10) for this network (damaged or edited file?)"),
    ("export --format nir: NaN weights (were exported)", ["export", "--format", "nir", "--results", "r.h5"],
     _trained(weights=np.full((784, 10), np.nan)),
     "r.h5: dataset /weights holds 7840 non-finite values (NaN or inf; damaged file?)"),
    ("export: --gpu-id -1 (was baked into the project)", ["export", "--gpu-id", "-1"], None,
     "argument --gpu-id: expected a GPU index >= 0, got '-1'"),
    # -- issue 29: files lost or overwritten without --force
    ("train: --plot exists", ["train", "--plot", "p.png"], _named("p.png"),
     "p.png exists; pass --force to overwrite it, or choose another --plot"),
    ("train: --plot is the --out results file", ["train", "--out", "x.h5", "--plot", "x.h5"], None,
     "--plot x.h5: expected a file name ending in .png, .pdf, .svg"),
    ("solsa --memory-only: --plot exists", ["solsa", "--memory-only", "--plot", "p.png"], _named("p.png"),
     "p.png exists; pass --force to overwrite it, or choose another --plot"),
    ("continual: <out>.png is an unrelated file", ["continual", "--out", "x.h5"], _named("x.png"),
     "x.png exists; pass --force to overwrite it, or choose another --plot"),
    ("train --copies 2: a copy's file written by another run", ["train", "--copies", "2", "--out", "t.h5"],
     lambda tmp: _hold_lock("t-seed0.h5"),
     "t-seed0.h5 is being written by another run (process … on …, lock …/t-seed0.h5.lock); "
     "wait for it to finish or choose another --out"),
    # -- issue 29: hangs
    ("train: --out is a FIFO", ["train", "--out", "x.h5"], _fifo("x.h5"),
     "--out x.h5: is a FIFO, not a file; it is never replaced (choose a file name)"),
    ("evaluate: a FIFO", ["evaluate", "r.h5"], _fifo("r.h5"), "r.h5: not a regular file (a FIFO); give a file"),
    # -- issue 29: late refusals and security hazards
    ("train: --plot with an ending matplotlib cannot write", ["train", "--plot", "x.txt"], None,
     "--plot x.txt: expected a file name ending in .png, .pdf, .svg"),
    ("train: --plot is a folder", ["train", "--plot", "d"], _folder, "--plot d: is a folder; expected a file name"),
    ("train: --out newdir/", ["train", "--out", "newdir/"], None, "--out newdir/: names a folder; expected a file name"),
    ("train: --out a device node, with --force", ["train", "--out", "/dev/null", "--force"], None,
     "--out /dev/null: is a device, not a file; it is never replaced (choose a file name)"),
    ("evaluate: an HDF5 external link", ["evaluate", "r.h5"], _external_link,
     "r.h5: HDF5 external link /x -> other.h5:/ refused (a results or NIR file must hold its own data)"),
    # -- issue 29: --scheduler (PORT: a local server that sends random bytes)
    ("search: --scheduler not a Dask address (left an empty folder)", ["search", "--scheduler", "not-an-address"],
     None, "argument --scheduler: expected a Dask scheduler address tcp://HOST:PORT, tls://HOST:PORT, inproc://... "
           "or HOST:PORT (a port in 1..65535), got 'not-an-address'"),
    ("search: --scheduler port 0", ["search", "--scheduler", "tcp://127.0.0.1:0"], None,
     "argument --scheduler: expected a Dask scheduler address … (a port in 1..65535), got 'tcp://127.0.0.1:0'"),
    ("search: --scheduler answers random bytes (a 3 EiB allocation)", ["search", "--scheduler", "tcp://127.0.0.1:PORT"],
     _garbage_server, "--scheduler tcp://127.0.0.1:…: no Dask scheduler answered within 10 s (…)"),
    ("compare: --scheduler answers random bytes", ["compare", "--scheduler", "127.0.0.1:PORT"], _garbage_server,
     "--scheduler 127.0.0.1:…: no Dask scheduler answered within 10 s (…)"),
]


def _pattern(message):
    return re.compile("^brian-snn: error: " + ".*".join(map(re.escape, message.split("…"))) + "$")


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


class Reached(BaseException):
    """A bad input got past the checks (to a simulation): must never happen here."""


@pytest.fixture(autouse=True)
def _no_simulation(monkeypatch):
    from brian_snn import backend
    from brian_snn.experiments.timestep import sensitivity, sweep
    from brian_snn.solsa import runner

    def reached(*a, **kw):
        raise Reached("a simulation started")
    for cls in (backend.CppBackend, backend.RuntimeBackend):
        monkeypatch.setattr(cls, "run_chunk", reached)
    for module in (sweep, sensitivity):          # where the sweeps look run_jobs up
        monkeypatch.setattr(module, "run_jobs", reached)
    monkeypatch.setattr(runner, "run_experiment", reached)


@pytest.mark.parametrize("case, argv, setup, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_up_front(case, argv, setup, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    held = None
    if setup is not None:
        held = setup(tmp_path, monkeypatch) if setup.__code__.co_argcount == 2 else setup(tmp_path)
    if isinstance(held, _GarbageServer):
        argv = [a.replace("PORT", str(held.port)) for a in argv]
    try:
        before = _snapshot(tmp_path)
        rc = main(argv)
        after = _snapshot(tmp_path)
    finally:
        if held is not None:                        # the process holding the lock
            held.communicate("")
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert _pattern(message).match(err.strip()), err
    assert after == before                          # nothing written, nothing lost


def table_rows():
    """The rows of the docs table, from CASES."""
    return [f"| {case} | `{getattr(setup, 'shown', '')}brian-snn {' '.join(argv)}` | `{message}` |"
            for case, argv, setup, message in CASES]


def test_docs_table_lists_exactly_the_cases():
    text = DOCS.read_text()
    section = text.split("## brian-snn", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "brian-snn " in line]
    assert rows == table_rows(), "docs/errors.md table differs from CASES; expected:\n" + "\n".join(table_rows())


def test_force_passes_the_overwrite_check(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _finished(tmp_path)
    with pytest.raises(Reached):
        main(["train", "--out", "x.h5", "--force", "--neurons", "10", "--train-samples", "5", "--test-samples", "5"])
    assert not Path("x.h5.lock").exists()           # released on the way out


# -- --scheduler ----------------------------------------------------------------------------------
@pytest.mark.parametrize("address, ok", [
    ("tcp://host:8786", True), ("tls://10.0.0.1:1", True), ("host.example:65535", True), ("tcp://[::1]:8786", True),
    ("inproc://10.0.0.1/123/1", True), ("not-an-address", False), ("tcp://host", False), ("tcp://host:0", False),
    ("tcp://host:65536", False), ("udp://host:8786", False), ("tcp://:8786", False), ("", False),
    ("inproc://", False), ("tcp://host:8786/path", False)])
def test_scheduler_address_form(address, ok):
    from brian_snn.options import check_scheduler_address
    if ok:
        assert check_scheduler_address(address) == address
    else:
        with pytest.raises(ValueError, match="expected a Dask scheduler address"):
            check_scheduler_address(address)


def test_a_silent_scheduler_is_given_up_after_the_timeout(tmp_path, monkeypatch, capsys):
    """A server that accepts and never answers: Dask's handshake alone would wait for ever."""
    from brian_snn import jobs
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(jobs, "SCHEDULER_TIMEOUT_S", 1)
    server = _GarbageServer(silent=True)
    try:
        t0 = time.monotonic()
        rc = main(["search", "--scheduler", f"tcp://127.0.0.1:{server.port}", "--out", "s"])
        took = time.monotonic() - t0
    finally:
        server.communicate()
    err = capsys.readouterr().err
    assert rc == 2 and took < 6, (took, err)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"brian-snn: error: --scheduler tcp://127.0.0.1:{server.port}: no Dask scheduler "
                          "answered within 1 s (TimeoutError: no answer)"), err
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_that_answers_passes_the_check():
    from distributed import LocalCluster
    from brian_snn.jobs import check_scheduler, open_client
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        check_scheduler(cluster.scheduler_address, timeout=5)
        client, _ = open_client(cluster.scheduler_address)
        try:
            assert client.scheduler_info()["address"] == cluster.scheduler_address
        finally:
            client.close()


# -- the output lock ------------------------------------------------------------------------------
def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_second_writer_refused_then_a_killed_writer_lock_is_taken_over(tmp_path):
    out = str(tmp_path / "r.h5")
    holder = _hold_lock(out)
    with pytest.raises(files.LockedError, match=f"process {holder.pid} on"):
        with files.output_lock(out):
            pass
    holder.kill()                                    # SIGKILL: no clean-up, the lock file stays
    holder.wait()
    assert f"{holder.pid} " in files.lock_path(out).read_text()
    with files.output_lock(out) as lock:             # the OS released its flock: stale, taken over
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()


def test_lock_file_of_a_dead_pid_still_locked_is_stale(tmp_path):
    """A lock still held (a descriptor a child inherited) by a pid that is gone: taken over."""
    import fcntl
    out = tmp_path / "r.h5"
    fd = os.open(files.lock_path(out), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{_dead_pid()} {__import__('socket').gethostname()}\n".encode())
    try:
        with files.output_lock(out):
            assert files.lock_path(out).read_text().split()[0] == str(os.getpid())
    finally:
        os.close(fd)


def test_lock_of_a_live_process_is_respected_and_released(tmp_path):
    out = tmp_path / "r.h5"
    with files.output_lock(out):
        with pytest.raises(files.LockedError, match=f"process {os.getpid()}"):
            with files.output_lock(out):
                pass
    with files.output_lock(out):                     # released on exit
        pass


def test_copies_hold_the_locks_of_their_files_while_they_train(tmp_path, monkeypatch, capsys):
    """``train --copies 2 --out t.h5`` holds the locks of t-seed0.h5 and t-seed1.h5 while it
    trains: ``train --seed 0 --out t-seed0.h5`` started beside it is refused (the other order,
    the copies started second, is a case of CASES)."""
    from brian_snn.experiments import train_eval
    monkeypatch.chdir(tmp_path)
    small = ["--neurons", "10", "--train-samples", "5", "--test-samples", "5"]
    beside, started = {}, []

    def training(*a, **kw):               # the copies' run, at the moment it trains
        if started:
            raise Reached("a run beside the copies got past the lock of its --out")
        started.append(True)
        capsys.readouterr()                 # (its first progress line)
        for seed in (0, 1):
            rc = main(["train", "--seed", str(seed), "--out", f"t-seed{seed}.h5", *small])
            beside[seed] = rc, capsys.readouterr().err
        raise Reached("the copies trained")
    monkeypatch.setattr(train_eval, "train_and_evaluate", training)
    with pytest.raises(Reached, match="the copies trained"):
        main(["train", "--copies", "2", "--out", "t.h5", *small])
    assert sorted(beside) == [0, 1]
    for seed, (rc, err) in beside.items():
        assert rc == 2 and err.count("\n") == 1, err
        assert _pattern(f"t-seed{seed}.h5 is being written by another run (process {os.getpid()} on …, lock "
                        f"…/t-seed{seed}.h5.lock); wait for it to finish or choose another --out").match(err.strip())
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # locks released, nothing written


# -- temporary and stale files --------------------------------------------------------------------
def test_temporary_files_are_per_process_and_removed_on_failure(tmp_path, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(str(a)), real(a, b)))
    write_results(tmp_path / "r.h5", {"config": {}})
    assert seen == [str(tmp_path / f"r.h5.{os.getpid()}.tmp")]
    with pytest.raises(TypeError):
        write_results(tmp_path / "r.h5", {"config": {}, "arrays": {"bad": object()}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_stale_files_of_dead_processes_are_removed_never_those_of_live_ones(tmp_path):
    from brian_snn.backend import clean_build_dir
    dead, me = _dead_pid(), os.getpid()
    for pid in (dead, me):
        (tmp_path / f"results_{pid}").mkdir()
        (tmp_path / f"results_{pid}" / "_array_exc_v").write_bytes(b"x")
        (tmp_path / "static_arrays").mkdir(exist_ok=True)
        (tmp_path / "static_arrays" / f"p{pid}__init_image_table_1").write_bytes(b"x")
        (tmp_path / "static_arrays" / f"w.{pid}.tmp").write_bytes(b"x")
    (tmp_path / "static_arrays" / "_init_exc_v").write_bytes(b"x")       # the build's own
    (tmp_path / "results").mkdir()
    clean_build_dir(tmp_path)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == sorted(["results", f"results_{me}", f"results_{me}/_array_exc_v", "static_arrays",
                           "static_arrays/_init_exc_v", f"static_arrays/p{me}__init_image_table_1",
                           f"static_arrays/w.{me}.tmp"])


def test_a_run_removes_temporary_files_killed_writers_left_beside_its_output(tmp_path):
    dead = _dead_pid()
    (tmp_path / f"r.h5.{dead}.tmp").write_bytes(b"x")
    (tmp_path / f"r.h5.{os.getpid()}.tmp").write_bytes(b"x")
    (tmp_path / f"other.h5.{dead}.tmp").write_bytes(b"x")              # not this output's
    with checks.claim(tmp_path / "r.h5"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"r.h5.{os.getpid()}.tmp", f"other.h5.{dead}.tmp"])


# -- builds ---------------------------------------------------------------------------------------
def test_make_jobs_bounded_overridable_and_not_in_the_build_key(monkeypatch):
    from brian_snn.backend import BackendError, CppBackend, make_jobs
    from brian_snn.encoding import Presentation
    from brian_snn.models import get_model_spec
    monkeypatch.delenv("BRIAN_SNN_MAKE_JOBS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert make_jobs() == cores and make_jobs(limit=1) == 1
    spec, pres = get_model_spec("spikedyn", n_exc=10), Presentation()
    key = CppBackend().build_key(spec, pres)
    monkeypatch.setenv("BRIAN_SNN_MAKE_JOBS", "3")
    assert make_jobs() == 3 and make_jobs(limit=1) == 3
    assert CppBackend().build_key(spec, pres) == key
    monkeypatch.setenv("BRIAN_SNN_MAKE_JOBS", "many")
    with pytest.raises(BackendError, match="BRIAN_SNN_MAKE_JOBS"):
        make_jobs()


# -- memory ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["diehl-cook", "asp-decay", "spikedyn"])
def test_sizes_are_those_of_the_built_network(model):
    """The memory estimate counts the synapses the model's build creates (numpy runtime, tiny)."""
    from brian2 import NeuronGroup, Synapses, prefs
    from brian_snn.encoding import Presentation
    from brian_snn.models import get_model_spec
    prefs.codegen.target = "numpy"
    spec = get_model_spec(model, n_exc=5, n_input=12)
    built = spec.build(np.zeros((3, 12), dtype=np.uint8), np.zeros(4), Presentation())
    syn = {o.name: (len(o), len(o._pathways)) for o in built.objects if isinstance(o, Synapses)}
    neurons = {o.name: len(o) for o in built.objects if isinstance(o, NeuronGroup) and o.name != "_controller"}
    for o in built.objects + [c for o in built.objects for c in o.contained_objects]:
        o._network = "counted"                      # never run: no "unused object" warning
    sizes = spec.sizes()
    assert {k: (n, p) for k, (n, _, p) in sizes["synapses"].items()} == syn
    assert sizes["neurons"] == neurons


def test_memory_estimate_grows_with_the_square_of_the_neurons():
    from brian_snn.models import get_model_spec
    small, big = (checks.network_bytes(get_model_spec("diehl-cook", n_exc=n), 1501) for n in (400, 20000))
    assert small < 1e9 and 12e9 < big < 20e9             # inh -> exc: n^2 synapses of 32 bytes
    assert checks.available_memory() > 0


if __name__ == "__main__":            # the rows of the docs table
    print("\n".join(table_rows()))
