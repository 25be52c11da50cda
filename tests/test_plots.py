"""Figures: the receptive-field grid (``brian-snn train --plot``) and the ``hwmodel compare --plot``
chart carry their labels, units and values; checked on the texts of the figures, then written."""
import json

import numpy as np
import pytest

from brian_snn import plots
from hwmodel import Counts, estimate
from hwmodel.plots import LOG_SPAN, compare_chart, compare_figure, si

PNG = b"\x89PNG\r\n\x1a\n"


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ------------------------------------------------------------------------------------------
# receptive fields
# ------------------------------------------------------------------------------------------
def _weights(n, side=28, seed=0):
    return np.random.default_rng(seed).uniform(0, 0.3, size=(side * side, n))


def test_receptive_fields_label_every_tile_with_its_class_and_name_the_run(tmp_path):
    n = 100
    assign = np.array([k % 10 for k in range(n - 3)] + [-1, -1, -1])      # 3 never fired
    fig = plots.receptive_fields_figure(_weights(n), assign, model="diehl-cook", accuracy=0.698, n_test=500,
                                        dataset="mnist")
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text() in {str(c) for c in range(10)} | {"none"}]
    assert len(labels) == n                                            # one label per field
    assert sorted(t.get_text() for t in labels) == sorted([str(c) for c in assign[:-3]] + ["none"] * 3)
    assert min(t.get_fontsize() for t in labels) >= 9
    # sorted by class: labels read 0..9 left to right, top to bottom, unassigned last
    pos = sorted(labels, key=lambda t: (t.get_position()[1], t.get_position()[0]))
    seq = [t.get_text() for t in pos]
    assert seq == sorted(seq[:-3], key=int) + ["none"] * 3
    title = ax.get_title()
    assert "diehl-cook" in title and "N = 100" in title
    assert "test accuracy 69.8 % on 500 test samples (mnist)" in title and ax.title.get_fontsize() >= 12
    cbar = fig.axes[1]
    assert "weight" in cbar.get_ylabel() and "dimensionless" in cbar.get_ylabel()
    assert min(t.get_fontsize() for t in cbar.get_yticklabels()) >= 10
    caption = [t.get_text() for t in ax.texts if "label = assigned class" in t.get_text()]
    assert caption and "28×28" in caption[0] and "never fired" in caption[0]
    path = tmp_path / "rf.png"
    assert plots.receptive_fields(_weights(n), path, assign, model="diehl-cook", accuracy=0.698) == path
    assert path.read_bytes()[:8] == PNG


def test_receptive_fields_caller_title_and_limits(tmp_path):
    # the CLI's own title is kept as the first line; more neurons than shown are said so
    fig = plots.receptive_fields_figure(_weights(450), np.zeros(450, int), title="spikedyn N=450: receptive fields",
                                        accuracy=0.5)
    ax = fig.axes[0]
    assert ax.get_title().splitlines() == ["spikedyn N=450: receptive fields", "test accuracy 50.0 %"]
    assert any("400 of 450 neurons" in t for t in _texts(fig))
    # without assignments: no labels, neuron order
    fig = plots.receptive_fields_figure(_weights(16), None, model="spikedyn")
    assert not [t for t in fig.axes[0].texts if t.get_text().isdigit()]
    assert fig.axes[0].get_title() == "spikedyn, N = 16 excitatory neurons: receptive fields"
    with pytest.raises(ValueError, match="square"):
        plots.receptive_fields_figure(np.ones((10, 4)))


def test_receptive_fields_from_results(tmp_path):
    res = {"config": {"model": "spikedyn", "data": {"dataset": "embedded"}},
           "scalars": {"accuracy": 0.75, "n_test": 200},
           "arrays": {"weights": _weights(25), "assignments": np.arange(25) % 10}}
    path = plots.receptive_fields_from_results(res, tmp_path / "r.png")
    assert path.read_bytes()[:8] == PNG


# ------------------------------------------------------------------------------------------
# hwmodel compare chart
# ------------------------------------------------------------------------------------------
HAND = {"schema": "hwmodel-counts/1", "dt_s": 0.0005, "steps": 1400, "samples": 2, "phase": "inference",
        "populations": [{"name": "input", "n": 784, "spikes": 3000, "neuron_updates": 0, "state_vars": 0},
                        {"name": "exc", "n": 400, "spikes": 40, "neuron_updates": 560000, "state_vars": 3}],
        "pathways": [{"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": 313600,
                      "synaptic_events": 1200000, "plasticity_updates": 0, "weight_bits": 32}]}


def test_si_prefixes():
    assert si(1.42, "J") == "1.42 J" and si(17.71, "J") == "17.7 J"
    assert si(5.084e-4, "J") == "508 µJ" and si(0.0496, "s") == "49.6 ms"
    assert si(1.56e-5, "J") == "15.6 µJ" and si(3e-10, "J") == "300 pJ"
    assert si(None, "J") == "n/a" and si(0, "s") == "0 s"


def _rows(targets, phase="inference", **opts):
    c = Counts.from_dict(dict(HAND, phase=phase))
    rows = []
    for t in targets:
        try:
            rows.append((t, estimate(c, t, **opts), None))
        except ValueError as e:
            rows.append((t, None, str(e)))
    return rows


def _value(text):
    """A bar's label without the range a GPU estimate adds after its value."""
    import re
    return re.sub(r" \([^()]* – [^()]*\)$", "", text.get_text().strip())


def test_compare_chart_values_units_phase_and_na(tmp_path):
    rows = _rows(["loihi1", "asic-45nm", "jetson-nano", "truenorth"], weight_bits=8)
    assert rows[-1][1] is None                                          # TrueNorth: 1-bit weights only
    fig = compare_figure(rows, "counts.json")
    ax_e, ax_l = fig.axes
    title = fig._suptitle.get_text()
    assert "inference phase" in title and "counts.json" in title and "2 samples" in title
    assert ax_e.get_title() == "energy per sample" and ax_l.get_title() == "latency per sample"
    # energy per sample by hand: total / samples, in the prefix a reader expects
    e_texts = [_value(t) for t in ax_e.texts]
    gpu = rows[2][1]                                                    # a GPU: its range too, per sample
    lo, hi = gpu.per_sample["energy_interval_j"]
    label = f"{si(gpu.energy_j['total'] / HAND['samples'], 'J')} ({si(lo, 'J')} – {si(hi, 'J')})"
    assert label in [t.get_text().strip() for t in ax_e.texts]
    for ref, est, _ in rows[:-1]:
        per = est.energy_j["total"] / HAND["samples"]
        assert si(per, "J") in e_texts
    assert "508 µJ" in e_texts                                          # Loihi 1: 1.017 mJ / 2 samples
    # energies span > LOG_SPAN: log axis, said in the label
    vals = [e.energy_j["total"] / 2 for _, e, _ in rows[:-1]]
    assert max(vals) / min(vals) > LOG_SPAN
    assert ax_e.get_xscale() == "log" and ax_e.get_xlabel() == "energy per sample (J, log scale)"
    # the n/a target is on the chart with its reason, in both panels
    na = [t for t in e_texts if t.startswith("n/a")]
    assert len(na) == 1 and "truenorth" in na[0] and "weight_bits_max" in na[0].replace("\n", "")
    assert [t.get_text() for t in ax_e.get_yticklabels()] == [
        "loihi1 [secondary]", "asic-45nm [secondary]", "jetson-nano [transferred]", "truenorth"]
    l_texts = [_value(t) for t in ax_l.texts]
    lat = {r: e.latency_s / 2 if e and e.latency_s is not None else None for r, e, _ in rows}
    assert si(lat["loihi1"], "s") in l_texts and si(lat["jetson-nano"], "s") in l_texts
    assert l_texts.count("n/a: this target has no latency model") == 1            # asic-45nm
    assert any(t.startswith("n/a: cannot price") for t in l_texts)               # truenorth
    # latencies 4.5 vs 39.7 ms: within LOG_SPAN -> linear axis from 0
    assert ax_l.get_xscale() == "linear" and ax_l.get_xlabel() == "latency per sample (s)"
    assert min(t.get_fontsize() for t in ax_e.texts) >= 8.5
    path = tmp_path / "cmp.png"
    assert compare_chart(rows, path) == path and path.read_bytes()[:8] == PNG


def test_compare_chart_names_the_training_phase():
    fig = compare_figure(_rows(["loihi1", "spinnaker2"], phase="training"))
    assert fig._suptitle.get_text().startswith("hwmodel compare: training phase")
    # within LOG_SPAN: linear
    assert fig.axes[0].get_xscale() == "linear" and fig.axes[0].get_xlabel() == "energy per sample (J)"


def test_compare_cli_writes_the_chart(tmp_path, capsys):
    from hwmodel.cli import main
    c = tmp_path / "c.json"
    c.write_text(json.dumps(HAND))
    png = tmp_path / "p.png"
    assert main(["compare", str(c), "--targets", "loihi1,asic-45nm", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == PNG
    capsys.readouterr()


# ------------------------------------------------------------------------------------------
# continual comparison: heat-map titles (no simulation: the runs are stubbed)
# ------------------------------------------------------------------------------------------
def test_continual_comparison_heat_map_title_names_run_and_final_accuracy(tmp_path, monkeypatch):
    from brian_snn.experiments import compare, continual
    A = np.array([[0.9, np.nan], [0.5, 0.8]])
    titles = {}
    monkeypatch.setattr(compare, "continual_run", lambda job: {"path": job["path"], "final_average": 0.65})
    monkeypatch.setattr(compare, "read_continual", lambda path: {"arrays": {"accuracy_matrix": A}})
    monkeypatch.setattr(compare, "run_row", lambda res, targets: {"final_average": 0.65})
    monkeypatch.setattr(compare, "relative", lambda rows, target: [])
    monkeypatch.setattr(compare, "format_table", lambda summary: "")
    monkeypatch.setattr(compare, "_write_csv", lambda *a: None)
    monkeypatch.setattr(compare, "plot_matrix", lambda m, tasks, path, title=None: titles.setdefault(path.name, title))
    cfg = continual.ContinualConfig(tasks="0+1,2+3")
    compare.run_comparison(cfg, models=("spikedyn",), sizes=(100,), out_dir=tmp_path, log=lambda *a: None)
    assert titles == {"spikedyn-N100.png": "spikedyn, N = 100: test accuracy (%) after each task\n"
                                           "final average 65.0 % (last row)"}


def test_compare_chart_draws_gpu_intervals_as_error_bars():
    """A GPU estimate's interval (per sample) is an error bar from its low to its high end, in both
    panels, and its label names the range; targets without an interval get no bar."""
    from matplotlib.container import ErrorbarContainer
    rows = _rows(["loihi1", "jetson-nano"], weight_bits=8)
    est = rows[1][1]
    assert est.per_sample["energy_interval_j"] and est.per_sample["latency_interval_s"]
    fig = compare_figure(rows)
    assert "error bars: the GPU model's interval" in fig._suptitle.get_text()
    for ax, key, value in ((fig.axes[0], "energy_interval_j", "energy_j"),
                           (fig.axes[1], "latency_interval_s", "latency_s")):
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1                                           # jetson-nano only, not loihi1
        (segs,) = [lc.get_segments() for lc in bars[0].lines[2]]
        assert len(segs) == 1
        (x0, y0), (x1, y1) = segs[0]
        lo, hi = est.per_sample[key]
        assert y0 == y1 == 1 and (x0, x1) == pytest.approx((lo, hi))     # row 1, from low to high
        assert lo < est.per_sample[value] < hi
        lo_x, hi_x = ax.get_xlim()
        assert lo_x <= lo and hi <= hi_x                                 # the whole bar is visible
        unit = "J" if value == "energy_j" else "s"
        label = f"{si(est.per_sample[value], unit)} ({si(lo, unit)} – {si(hi, unit)})"
        assert label in [t.get_text().strip() for t in ax.texts]
    # without a GPU target: no error bars, no caption about them
    fig = compare_figure(_rows(["loihi1", "spinnaker2"]))
    assert not any(isinstance(c, ErrorbarContainer) for ax in fig.axes for c in ax.containers)
    assert "error bars" not in fig._suptitle.get_text()
