"""The adaptive window's cost-aware policy (docs/topspark.md, brian_snn/experiments/timestep/adaptive.py):
pure functions, no simulation."""
import pytest

from brian_snn.experiments.timestep.adaptive import AdaptiveConfig, candidates, choose

SHORT = {"spikedyn": 50.0, "diehl-cook": 350.0}
CFG = AdaptiveConfig(models=("spikedyn",), ks=(2, 5), ms=(0, 1), tolerance_pp=2.0, short_window_ms=SHORT)


def test_candidates_are_the_two_references_and_the_grid_per_maximum_window():
    labels = [c[0] for c in candidates(CFG, "spikedyn")]
    assert labels[:2] == ["fixed full", "fixed short"]
    assert len(labels) == 2 + 2 * 2 * 2                       # k x m x T_max in {350, 50}
    full = candidates(AdaptiveConfig(models=("spikedyn",), ks=(2,), ms=(0,), t_max="full", short_window_ms=SHORT),
                      "spikedyn")
    assert [c[:4] for c in full] == [("fixed full", 350.0, 0, 0), ("fixed short", 50.0, 0, 0),
                                     ("adaptive k=2 m=0 T_max=350", 350.0, 2, 0)]
    # a short T_max carries its window's enhancement rules, the full one factors of 1; every adaptive
    # candidate rescales the threshold growth to the steps used with the rule's exponent (0.25 for
    # theta_plus, windows.DEFAULT_RULES), the fixed references do not
    c = {c[0]: c for c in candidates(CFG, "spikedyn")}
    assert c["adaptive k=2 m=0 T_max=50"][4].factors["theta_plus"] == pytest.approx((350 / 50) ** 0.25)
    assert set(c["adaptive k=2 m=0 T_max=350"][4].factors.values()) == {1.0}
    for lab in ("adaptive k=2 m=0 T_max=50", "adaptive k=5 m=1 T_max=350"):
        assert c[lab][4].params["theta_window_alpha"] == 0.25
        assert "theta_window_alpha" not in c[lab][5].params             # not in inference
    for lab in ("fixed full", "fixed short"):
        assert "theta_window_alpha" not in c[lab][4].params
    off = {c[0]: c for c in candidates(AdaptiveConfig(models=("spikedyn",), ks=(2,), ms=(0,), steps_used=False,
                                                      short_window_ms=SHORT), "spikedyn")}
    assert "theta_window_alpha" not in off["adaptive k=2 m=0 T_max=50"][4].params


def _val_cost(**over):
    labels = [c[0] for c in candidates(CFG, "spikedyn")]
    val = {lab: 0.80 for lab in labels}
    cost = {lab: 1.0 for lab in labels}
    for lab, (v, c) in over.items():
        val[lab.replace("_", " ")], cost[lab.replace("_", " ")] = v, c
    return val, cost


def test_the_cheapest_within_the_tolerance_wins():
    val, cost = _val_cost()
    val["fixed full"] = 0.80
    val["adaptive k=2 m=0 T_max=50"], cost["adaptive k=2 m=0 T_max=50"] = 0.775, 0.2     # 2.5 points down: out
    val["adaptive k=5 m=1 T_max=350"], cost["adaptive k=5 m=1 T_max=350"] = 0.781, 0.5   # 1.9 points down: in
    val["adaptive k=2 m=1 T_max=350"], cost["adaptive k=2 m=1 T_max=350"] = 0.90, 0.6
    cost["fixed short"] = 0.01                                                          # not adaptive: not offered
    c = choose(CFG, "spikedyn", val, cost)
    assert c["chosen"] == "adaptive k=5 m=1 T_max=350"
    assert "adaptive k=2 m=0 T_max=50" not in c["feasible"] and "fixed short" not in c["feasible"]


def test_ties_go_to_the_more_accurate_then_larger_k_m():
    val, cost = _val_cost()
    for lab in val:
        cost[lab] = 0.5
    val["adaptive k=2 m=0 T_max=350"] = 0.81
    assert choose(CFG, "spikedyn", val, cost)["chosen"] == "adaptive k=2 m=0 T_max=350"
    val["adaptive k=2 m=0 T_max=350"] = 0.80
    assert choose(CFG, "spikedyn", val, cost)["chosen"] == "adaptive k=5 m=1 T_max=350"


def test_nothing_within_the_tolerance_keeps_the_full_window():
    val, cost = _val_cost()
    for lab in val:
        if lab.startswith("adaptive"):
            val[lab] = 0.70
    c = choose(CFG, "spikedyn", val, cost)
    assert c["chosen"] == "fixed full" and c["feasible"] == []


def test_config_checks():
    with pytest.raises(ValueError, match="t_max"):
        AdaptiveConfig(t_max="short")
    with pytest.raises(ValueError, match="k >= 1"):
        AdaptiveConfig(ks=(0,))
