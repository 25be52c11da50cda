"""Every number in the README's generated sections comes from a committed result file:
``benchmarks/report.py --check`` passes on the repository, and fails when one number differs."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "report.py"


def _check(readme, results=ROOT / "benchmarks" / "results"):
    return subprocess.run([sys.executable, str(REPORT), "--check", "--readme", str(readme), "--results", str(results)],
                          capture_output=True, text=True, timeout=300)


def test_readme_numbers_match_their_result_files():
    text = (ROOT / "README.md").read_text()
    sections = re.findall(r"<!-- report:([\w-]+) -->", text)
    assert "static_mnist" in sections
    p = _check(ROOT / "README.md")
    assert p.returncode == 0, p.stderr
    assert f"{len(sections)} README section(s) match" in p.stdout


def test_check_fails_when_a_readme_number_differs(tmp_path):
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- report:static_mnist -->")
    m = re.search(r"\*\*(\d+)\.(\d+) ±", text[start:])          # the first test accuracy in the section
    i = start + m.start(1)
    changed = text[:i] + str(int(m.group(1)) + 1) + text[i + len(m.group(1)):]
    readme = tmp_path / "README.md"
    readme.write_text(changed)
    p = _check(readme)
    assert p.returncode == 1 and "static_mnist" in p.stderr
    # and the generator puts the number back
    subprocess.run([sys.executable, str(REPORT), "--readme", str(readme)], check=True, capture_output=True)
    assert readme.read_text() == text
