"""Model constants and training settings, validated on construction.

Defaults follow the SOLSA authors' public code, repository
``ivanzzh/Exploring-Spike-Encoder-Designs-for-Near-Sensor-Edge-Computing`` @ a7dde5b (``utils.py``,
``deal.py``; Jin, Zhang & Qiu, NICE 2025, the follow-up of Zhang, Jin, Fang & Qiu, "SOLSA", ASP-DAC 2024):
lambda = 0.5, theta = 1, V_r = sigma = 0.5, alpha = beta = 0.9, RMSprop.  Every departure is listed in
``docs/methods.md`` (## SOLSA).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, asdict

from .errors import SolsaError, check_finite, check_int

SPIKE_FUNCTIONS = ("heaviside", "smooth")
OPTIMIZERS = ("rmsprop", "sgd")


@dataclass(frozen=True)
class ModelParams:
    """Constants of the LIF + exponential synaptic filter model (dimensionless, dt = 1 step).

    ``spike='smooth'`` replaces the Heaviside by the Gaussian CDF whose derivative is exactly
    the surrogate; the network is then differentiable and finite differences check BPTT.
    """
    lam: float = 0.5          # membrane decay per step, lambda = exp(-dt/tau_m)
    theta: float = 1.0        # firing threshold
    v_reset: float = 0.5      # soft-reset amount V_r subtracted one step after a spike
    sigma: float = 0.5        # width of the Gaussian surrogate dO/dV
    alpha0: float = 0.9       # initial filter decay, alpha = exp(-dt/tau_s)
    beta0: float = 0.9        # initial filter input gain
    alpha_min: float = 0.1    # clamps applied after every filter update (as in the authors' code)
    alpha_max: float = 1.0
    beta_min: float = 0.1
    # Ours, not the authors' code: initial beta of the FIRST layer when the input is analog (any value
    # other than 0/1, e.g. z-scored UEA channels or MNIST pixels).  0.1 = 1 - alpha0 gives that filter
    # a DC gain beta/(1 - alpha) of 1 instead of 9, so z-scored inputs do not saturate layer 1
    # (docs/methods.md, ## SOLSA).  Spike inputs keep beta0; None keeps beta0 for every input.
    beta0_analog: float | None = 0.1
    spike: str = "heaviside"

    def __post_init__(self):
        check_finite("lam", self.lam, low=0.0, high=1.0)
        check_finite("theta", self.theta, positive=True)
        check_finite("v_reset", self.v_reset, nonneg=True)
        check_finite("sigma", self.sigma, positive=True)
        check_finite("alpha_min", self.alpha_min, nonneg=True)
        check_finite("alpha_max", self.alpha_max, low=self.alpha_min, high=1.0)
        check_finite("alpha0", self.alpha0, low=self.alpha_min, high=self.alpha_max)
        check_finite("beta_min", self.beta_min, nonneg=True)
        check_finite("beta0", self.beta0, low=self.beta_min)
        if self.beta0_analog is not None:
            check_finite("beta0_analog", self.beta0_analog, low=self.beta_min)
        if self.spike not in SPIKE_FUNCTIONS:
            raise SolsaError(f"unknown spike function {self.spike!r} (choose from {', '.join(SPIKE_FUNCTIONS)})")


@dataclass(frozen=True)
class TrainConfig:
    """Learning settings shared by SOLSA, BPTT and the simplified online rule."""
    lr: float = 2e-3              # weight learning rate (one value for all methods, not tuned per method)
    lr_filter: float = 1e-4       # learning rate of alpha, beta
    optimizer: str = "rmsprop"
    rho: float = 0.99             # RMSprop decay (PyTorch default)
    opt_eps: float = 1e-8
    epochs: int = 10              # with period 1 the schedule freezes after epoch 7 and early stop acts
                                  # in epochs 9-10: all three enhancements act in a default run
    batch: int = 1                # Brian2 has no batch axis: 1 everywhere keeps the methods comparable
    init_scale: float = 1.0       # weights ~ U(-s/sqrt(fan_in), s/sqrt(fan_in)) (PyTorch Linear default for s=1)
    seed: int = 0
    # enhancements (each can be switched off)
    scheduled: bool = True        # update only at chosen steps; off = update at every step
    points: int = 8               # P, number of update points
    period: int = 1               # R, epochs between re-rankings (code: 3 for 200 epochs).  1: the first
                                  # re-ranking follows epoch 1, so the online rules stop updating only at
                                  # T-1 (for JapaneseVowels a padding step of every training series)
                                  # after one epoch instead of R; chosen on a validation split
    early_stop: bool = True       # stop updating a sample once confidently right
    p_thr: float = 0.9            # confidence threshold on the normalised output count
    adaptive_filter: bool = True  # learn alpha, beta; off = fixed at alpha0, beta0

    def __post_init__(self):
        check_finite("lr", self.lr, nonneg=True)
        check_finite("lr_filter", self.lr_filter, nonneg=True)
        if self.optimizer not in OPTIMIZERS:
            raise SolsaError(f"unknown optimizer {self.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
        check_finite("rho", self.rho, low=0.0, high=1.0)
        check_finite("opt_eps", self.opt_eps, positive=True)
        check_int("epochs", self.epochs, low=1)
        check_int("batch", self.batch)
        check_finite("init_scale", self.init_scale, positive=True)
        check_int("seed", self.seed, low=0)
        check_int("points", self.points)
        check_int("period", self.period)
        check_finite("p_thr", self.p_thr, high=1.0)
        if self.p_thr <= 0.5:  # > 0.5 makes "target count >= p_thr * total" imply "target is the argmax"
            raise SolsaError(f"p_thr must be > 0.5, got {self.p_thr:g}")

    def replace(self, **changes) -> "TrainConfig":
        d = asdict(self)
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise SolsaError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        d.update(changes)
        return TrainConfig(**d)
