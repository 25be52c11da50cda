"""TopSpark (issue 5, ``brian-snn timestep``): timestep reduction for training and inference,
parameter enhancement, and a trade-off policy.

TopSpark's paper text is not available; everything below is our reconstruction (reasons in
docs/methods.md, "TopSpark (issue 5)"; usage in docs/topspark.md).

* **Timesteps.**  A sample is shown for a *window* ``T`` (input on) followed by a rest that
  scales with it (``rest = T x rest_ratio``, 150/350 by default, rounded to a multiple of dt), so
  the simulated steps per presentation are ``(T + rest) / dt``.  Latency and energy come from
  the exact counts of each run (every repeat of the boost rule included) priced by hwmodel.
* **Analysis.**  For every model, size and window: train *and* infer at ``T`` (``baseline``),
  the same with enhanced parameters (``enhanced``), and the network trained at the full window
  inferred at ``T`` (``inference-only``, with and without the inference-side enhancements).
* **Enhancement.**  A knob ``k`` (input rate, threshold, reset, membrane time constant, theta
  increment, learning rates, weight norm, inhibition) is scaled with the window by
  ``value(T) = value(T0) * (T0 / T) ** alpha_k``; :func:`enhance` is a pure function of the
  window.  The exponents come from a one-at-a-time sensitivity analysis
  (:func:`run_sensitivity`).
* **Policy.**  :func:`choose` picks, among measured rows, the one maximising
  ``w_a A/A0 - w_l L/L0 - w_t Et/Et0 - w_i Ei/Ei0`` subject to ``A >= A0 - tolerance`` (and any
  latency / energy budgets), where index 0 is the baseline at the full window.

Window lengths are run-time values: the binary is built for the full window's slot and a run
with shorter slots ends itself after its last one (:mod:`brian_snn.encoding`), so a whole sweep
uses one build per model and size (on the ``cuda`` backend, whose runs cannot end early, one per
window).  Every other value here (model parameters, intensities, thresholds via the initial
theta, data, state) is run-time too; the two compiled knobs (reset, membrane time constant) cost
one build per value (:mod:`.models`).
"""
from ..energy import JETSON
from .windows import (BASE_INTENSITY, BASE_MIN_SPIKES, BASE_WINDOW_MS, COMPILED_KNOBS, DEFAULT_RULES,
                      DEFAULT_WEIGHTS, INFERENCE_KNOBS, KNOBS, MAX_PIXEL_RATE_PER_INTENSITY, MODELS, P_CAP,
                      REST_RATIO, SENSITIVITY_ALPHAS, SENSITIVITY_FILES, TOPSPARK_HEADLINE, VARIANTS,
                      check_dt, check_window, check_windows, presentation, rest_ms, steps_per_presentation)
from .rules import (PHASES, Settings, apply_factors, base_params, check_model, check_rules, enhance,
                    format_rules, inference_part, phase_knobs, rules_from_sensitivity)
from .policy import (BUDGETS, check_tolerance, check_weights, choose, closest, describe_row, explain,
                     objective, ratios, violations)
from .table import (build_rows, format_budgets, format_preview, format_table, format_test, price, select_all)
from .sweep import (TimestepConfig, _cfg_dict, _json_default, code_fingerprint, evaluate, load, plan_jobs,
                    run_jobs, run_timestep, save, tabulate, with_groups)
from .sensitivity import (derived_rules, format_sensitivity, inference_rules_from_sensitivity,
                          load_sensitivity, plan_inference_sensitivity, plan_sensitivity, run_sensitivity,
                          summarise_sensitivity)
from .figures import (plot_sensitivity, plot_timestep, sensitivity_figure, timestep_figure)

__all__ = ["JETSON", "BASE_INTENSITY", "BASE_MIN_SPIKES", "BASE_WINDOW_MS", "COMPILED_KNOBS", "DEFAULT_RULES",
           "DEFAULT_WEIGHTS", "INFERENCE_KNOBS", "KNOBS", "MAX_PIXEL_RATE_PER_INTENSITY", "MODELS",
           "P_CAP", "REST_RATIO", "SENSITIVITY_ALPHAS", "SENSITIVITY_FILES", "TOPSPARK_HEADLINE",
           "VARIANTS", "check_dt", "check_window", "check_windows", "presentation", "rest_ms",
           "steps_per_presentation", "PHASES", "Settings", "apply_factors", "base_params",
           "check_model", "check_rules", "enhance", "format_rules", "inference_part", "phase_knobs",
           "rules_from_sensitivity", "BUDGETS", "check_tolerance", "check_weights", "choose",
           "closest", "describe_row", "explain", "objective", "ratios", "violations", "build_rows",
           "format_budgets", "format_preview", "format_table", "format_test", "price", "select_all", "TimestepConfig", "_cfg_dict",
           "_json_default", "code_fingerprint", "evaluate", "load", "plan_jobs", "run_jobs",
           "run_timestep", "save", "tabulate", "with_groups", "derived_rules", "format_sensitivity",
           "inference_rules_from_sensitivity", "load_sensitivity", "plan_inference_sensitivity",
           "plan_sensitivity", "run_sensitivity", "summarise_sensitivity", "plot_sensitivity",
           "plot_timestep", "sensitivity_figure", "timestep_figure"]
