"""Every number in the README that comes from a measurement is generated from a committed result file:
``benchmarks/report.py --check`` passes on the repository, fails when one number differs, and fails
when a required section (its marker pair) is missing (issue 25)."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "report.py"
sys.path.insert(0, str(REPORT.parent))

import report  # noqa: E402

#: The full list of generated sections; a section removed from the README (or from this list) fails.
SECTIONS = {"commands", "main_job", "nir_snn_agreement", "nir_agreement", "gpu_validation", "static_mnist",
            "throughput", "continual_mnist", "spikedyn_ablation", "topspark", "topspark_adaptive", "solsa",
            "defaults_selection", "model_search", "speedup_vs_commit"}


def _check(readme, results=ROOT / "benchmarks" / "results"):
    return subprocess.run([sys.executable, str(REPORT), "--check", "--readme", str(readme), "--results", str(results)],
                          capture_output=True, text=True, timeout=300)


def _readme():
    return (ROOT / "README.md").read_text()


def test_readme_numbers_match_their_result_files():
    text = _readme()
    sections = re.findall(r"<!-- report:([\w-]+) -->", text)
    assert set(report.REQUIRED) == SECTIONS
    assert set(sections) == SECTIONS and len(sections) == len(SECTIONS)
    p = _check(ROOT / "README.md")
    assert p.returncode == 0, p.stderr
    assert f"{len(sections)} README section(s) match" in p.stdout


def test_check_fails_when_a_readme_number_differs(tmp_path):
    text = _readme()
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


def test_check_fails_when_a_marker_pair_is_deleted(tmp_path):
    text = _readme()
    assert report.problems(text) == []
    for name in SECTIONS:
        cut = text.replace(f"<!-- report:{name} -->\n", "").replace(f"<!-- /report:{name} -->", "")
        assert any(p.startswith(f"{name}:") for p in report.problems(cut)), name
    # and through the command line, on a scratch copy, for one of them
    readme = tmp_path / "README.md"
    readme.write_text(text.replace("<!-- report:commands -->\n", "").replace("<!-- /report:commands -->", ""))
    p = _check(readme)
    assert p.returncode == 1 and "commands" in p.stderr


def _generated_lines(text):
    """(section, offset of its marker, offset of the line, line) for every table row and code-block line of every section."""
    for m in report.BLOCK.finditer(text):
        pos = m.start("body")
        for line in m["body"].splitlines(keepends=True):
            if line.startswith("|") or not line.startswith(("<", "!")) and re.search(r"\d", line):
                yield m["name"], m.start(), pos, line
            pos += len(line)


def test_every_digit_of_every_generated_row_is_checked():
    """Changing a digit of any line of a generated section (table rows, the main job's output, the
    prose the renderers write) makes --check fail and names the section: the first and the last
    digit of every line through the whole check, every digit against its section's rendering."""
    text = _readme()
    lines = 0
    for name, start, pos, line in _generated_lines(text):
        digits = [j for j, ch in enumerate(line) if ch.isdigit()]
        for j in digits:
            k = pos + j
            changed = text[:k] + str((int(text[k]) + 1) % 10) + text[k + 1:]
            if j in (digits[0], digits[-1]):
                assert any(p.startswith(f"{name}:") for p in report.problems(changed)), (name, line)
            else:
                assert report.BLOCK.match(changed, start)["body"] != report.rendered(name), (name, line)
        lines += 1
    assert lines > 150


def test_no_hand_written_number_table_outside_a_generated_section():
    """Every README table row with a digit lies in a generated section (none is typed by hand)."""
    text = _readme()
    inside = [(m.start(), m.end()) for m in report.BLOCK.finditer(text)]
    fence = False
    pos = 0
    loose = []
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("|") and re.search(r"\d", line):
            if not any(a <= pos < b for a, b in inside):
                loose.append(line.strip())
        pos += len(line)
    assert loose == []


def test_prose_quotes_an_interval_only_as_a_section_prints_it():
    text = _readme()
    assert report.unquoted_intervals(text) == []
    i = text.index("9.7 ± 5.4", text.index("<!-- /report:spikedyn_ablation -->"))
    changed = text[:i] + "9.7 ± 5.5" + text[i + len("9.7 ± 5.4"):]
    assert any(p.startswith("prose:") and "9.7 ± 5.5" in p for p in report.problems(changed))


def test_holm_step_down_and_the_paired_p_value():
    from brian_snn.protocol import holm, paired
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]   # 0.005 <= .05/4, 0.01 <= .05/3, 0.03 > .05/2
    assert holm([0.01, 0.02, 0.03]) == [True, True, True]
    assert holm([float("nan"), 0.001]) == [False, True]
    d = paired([1, 2, 3], [0, 0, 0.5])          # t = 1.833 / (0.764 / sqrt 3) on 2 d.o.f.
    assert abs(d["p"] - 0.05327) < 1e-4 and not d["differs"]
    assert paired([1, 1, 1], [0, 0, 0])["p"] == 0.0 and paired([1, 1], [1, 1])["p"] == 1.0


def test_a_check_mark_needs_holm_over_the_table():
    """The ablation's static-MNIST difference without the depression of silent inputs excludes 0 on its
    own (3.2 ± 1.5) but not after Holm (24 comparisons), so it carries no mark."""
    text = _readme()
    sec = text[text.index("<!-- report:spikedyn_ablation -->"):text.index("<!-- /report:spikedyn_ablation -->")]
    assert "(Δ 3.2 ± 1.5)" in sec and "Holm's correction for the 24 comparisons" in sec


def test_every_loihi_figure_says_where_the_inputs_live():
    """Loihi columns price the inputs as host spikes and say so; where the sign of a difference flips
    with on-chip inputs (SpikeDyn vs the baselines at N = 200), both are shown; the static share is given."""
    text = _readme()
    for m in report.BLOCK.finditer(text):
        if m["name"] == "main_job":           # recorded output: hwmodel's default, said there
            assert "price the 784 Poisson inputs as on-chip neurons" in m["body"]
        elif "Loihi" in m["body"]:
            assert "Loihi 1 (host inputs)" in m["body"] and "Static power over the modelled latency is" in m["body"], m["name"]
            assert "| Loihi 1 |" not in m["body"] and ", Loihi 1 |" not in m["body"]
    sec = text[text.index("<!-- report:continual_mnist -->"):text.index("<!-- /report:continual_mnist -->")]
    assert "(on-chip inputs: 14 ± 1 % ✓)" in sec and "(on-chip inputs: 54 ± 2 % ✓)" in sec


def test_every_result_file_carries_commit_dirty_flag_and_fingerprint():
    """Stored as measured, or "unknown" (never invented) where the run recorded none; the README
    prints them as stored ("+dirty" kept)."""
    missing = []
    for f in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        pv = report.json.loads(f.read_text()).get("provenance") or {}
        if not all(k in pv for k in ("git_commit", "dirty", "code_fingerprint", "date")):
            missing.append(f.name)
            continue
        assert pv["dirty"] in (True, False, "unknown")
        assert (pv["dirty"] is True) == str(pv["git_commit"]).endswith("+dirty"), f.name
    assert missing == []
    assert "Code 319ba55b34+dirty (dirty: yes)" in _readme()


def test_adaptive_topspark_ratios_are_the_per_seed_ratios_of_its_record():
    """The adaptive section's steps and CPU ratios recomputed by hand from the record's own fields."""
    res = report.json.loads((ROOT / "benchmarks" / "results" / "topspark_adaptive.json").read_text())
    text = report.render("topspark_adaptive")
    for model, chosen in ((m, s["chosen"]) for m, s in res["selection"].items()):
        base = sorted((r for r in res["adaptive"] if r["model"] == model and r["candidate"] == "fixed full"),
                      key=lambda r: r["seed"])
        new = sorted((r for r in res["adaptive"] if r["model"] == model and r["candidate"] == chosen),
                     key=lambda r: r["seed"])
        assert [r["seed"] for r in base] == [r["seed"] for r in new] == [0, 1, 2]
        ratios = [(b["cpu_s"]["inference"] / b["samples"]["inference"]) / (n["cpu_s"]["inference"] / n["samples"]["inference"])
                  for b, n in zip(base, new)]
        mean = sum(ratios) / 3
        half = 4.302652729911275 * (sum((x - mean) ** 2 for x in ratios) / 2) ** 0.5 / 3 ** 0.5   # t(0.975, 2)
        steps = sum(r["test_steps_per_sample"]["mean"] for r in new) / 3
        row = next(line for line in text.splitlines() if line.startswith(f"| {model} | {chosen} ◀"))
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[5].startswith(f"{steps:,.0f} [")
        assert cells[7] == f"{mean:.2f} ± {half:.2f}×"


def _unprinted(x: str, sections: str, factor: bool) -> str:
    """A number with x's decimals that no section prints."""
    d = len(x.split(".")[1]) if "." in x else 0
    for k in range(1, 1000):
        y = f"{float(x.replace(',', '')) + k * 10 ** -d:.{d}f}"
        if not report.printed(y, factor, sections):
            return y
    raise AssertionError(f"no unprinted neighbour of {x}")


def test_prose_quotes_a_factor_or_percentage_only_as_a_section_prints_it():
    text = _readme()
    assert report.unquoted_figures(text) == []
    _, sections = report._prose_and_sections(text)
    start = text.index("<!-- /report:topspark -->") + len("<!-- /report:topspark -->")
    end = text.index("<!-- report:", start)
    figures = list(report.FIGURE.finditer(text, start, end))
    kinds = {report.is_factor(text, m) for m in figures}
    assert len(figures) >= 4 and kinds == {True, False}      # factors and percentages / points both tried
    for m in figures:
        changed = text[:m.start()] + _unprinted(m.group(0), sections, report.is_factor(text, m)) + text[m.end():]
        assert any(p.startswith("prose:") for p in report.problems(changed)), m.group(0)   # figure or interval
    # a factor written with fewer decimals than its section is the section's value rounded
    assert report.unquoted_figures("a 1.6× saving\n<!-- report:x -->\n1.64 ± 0.05×\n<!-- /report:x -->") == []
    assert report.unquoted_figures("a 1.7× saving\n<!-- report:x -->\n1.64 ± 0.05×\n<!-- /report:x -->") != []
