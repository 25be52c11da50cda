"""K independent copies of a Diehl & Cook network in one build (sweeps, seeds, GPU batching).

A batch is *one* Brian network whose groups hold the K copies side by side (copy k owns neurons
``k*N .. (k+1)*N-1`` of every layer, synapses are block-diagonal), so a GPU runs all copies in the
same kernels: the per-step launch cost is paid once for K networks.  Each copy has

* its own run-time parameters (``nu_pre``, ``nu_post``, ``norm``, ``theta_plus_mV``,
  ``tau_theta_ms``, ``w_ei``, ``w_ie``): the model's shared variables become per-neuron variables,
  set per copy at every run (a sweep over them reuses one binary);
* its own presentation order (a 2-D TimedArray: presentation position x copy) and schedule
  controller (the repeat-if-silent rule runs per copy);
* its own input noise seed.  Poisson input uses a *counter-based* random number
  ``u = hash(seed_k, time step, pixel)`` (splitmix64, identical in C++, CUDA and numpy) instead
  of ``rand()``: a copy's input spikes depend only on its own seed, not on K or on the other
  copies, and not on the backend's RNG.  Hence on ``cpp`` copy k of a batch reproduces, exactly,
  the same network run alone (K=1) with the same seed, order, parameters and initial state --
  spikes, counts and learned weights (tests/test_batched.py).  On CUDA the inputs are still
  identical; sums of synaptic input are accumulated by parallel threads (atomics) in varying
  order, so results agree to rounding and then diverge like any chaotic system.

The equations are those of ``models/diehl_cook.py`` (conductance LIF, adaptive threshold,
pre-depression / post-potentiation STDP with a nearest-spike presynaptic trace, column
normalisation at training-sample boundaries, D&C's repeat rule); only the parameters' storage
and the connectivity are batched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import brian2
from brian2 import (EventMonitor, Function, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray,
                    defaultclock, device, linked_var, ms, mV, prefs, second, set_device)

from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

from .activity import SIMULATOR, kernels_per_step
from .backend import BackendError, _locked, _run_args_list, default_cache_dir
from .encoding import Presentation

BATCH_CODE_VERSION = "1"
PARAMS = ("nu_pre", "nu_post", "norm", "theta_plus_mV", "tau_theta_ms", "w_ei", "w_ie")
DEFAULTS = dict(nu_pre=1e-4, nu_post=1e-2, norm=78.0, theta_plus_mV=0.05, tau_theta_ms=1e7,
                w_ei=10.4, w_ie=17.0)
NS = dict(v_rest_e=-65 * mV, v_reset_e=-65 * mV, v_thresh_e=-52 * mV, theta_offset=20 * mV,
          E_exc=0 * mV, E_inh_e=-100 * mV, tau_e=100 * ms, v_rest_i=-60 * mV, v_reset_i=-45 * mV,
          v_thresh_i=-40 * mV, E_inh_i=-85 * mV, tau_i=10 * ms, tau_ge=1 * ms, tau_gi=2 * ms,
          tau_post1=20 * ms, tau_post2=40 * ms, wmax=1.0)
METHOD = "linear_implicit"

# -- counter-based uniform random numbers ----------------------------------------------------------
_HASH_BODY = """
    uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + (uint64_t)step * 0xD1B54A32D192ED03ULL
               + (uint64_t)idx * 0x8CB92BA72F3D8DD7ULL;
    for (int r = 0; r < 2; r++) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z = z ^ (z >> 31);
    }
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
"""
_CPP_HASH = ("#include <stdint.h>\nstatic inline double _bsnn_uniform(const int64_t seed, const int64_t step, "
             "const int64_t idx)\n{" + _HASH_BODY + "}\n")
_CUDA_HASH = ("__host__ __device__ static inline double _bsnn_uniform(const int64_t seed, const int64_t step, "
              "const int64_t idx)\n{" + _HASH_BODY + "}\n")

_M = [np.uint64(x) for x in (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03, 0x8CB92BA72F3D8DD7,
                             0xBF58476D1CE4E5B9, 0x94D049BB133111EB)]


def hash_uniform(seed, step, idx):
    """numpy reference of the C++/CUDA ``_bsnn_uniform``: uniform in [0, 1) from three integers."""
    with np.errstate(over="ignore"):
        s, t, i = (np.asarray(a).astype(np.int64).astype(np.uint64) for a in (seed, step, idx))
        z = s * _M[0] + t * _M[1] + i * _M[2]
        for _ in range(2):
            z = z + _M[0]
            z = (z ^ (z >> np.uint64(30))) * _M[3]
            z = (z ^ (z >> np.uint64(27))) * _M[4]
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


bsnn_uniform = Function(hash_uniform, arg_units=[1, 1, 1], return_unit=1,
                        arg_types=["integer", "integer", "integer"], return_type="float",
                        stateless=True, auto_vectorise=False)
bsnn_uniform.implementations.add_implementation("cpp", _CPP_HASH, name="_bsnn_uniform")
bsnn_uniform.implementations.add_implementation("cuda", _CUDA_HASH, name="_bsnn_uniform")

# -- equations -----------------------------------------------------------------------------------
# The schedule controller of encoding.py (one neuron per copy here); its order lookup is per copy.
CONTROLLER_EQS = """
t_in : second                 # time since the start of the current slot
ptr : 1                       # index into the order table of the sample being shown
sample : 1                    # image index of that sample
count : 1                     # excitatory spikes in the current slot
repeats : 1                   # how often the current sample was repeated
intensity : 1
started : 1                   # 0 before the first slot of a run
boundary : 1                  # 1 on the first step of a slot
on : 1                        # 1 while the input is presented
t_on : second (shared)
t_slot : second (shared)
intensity0 : 1 (shared)
intensity_step : 1 (shared)
min_spikes : 1 (shared)
max_repeats : 1 (shared)
"""

# Abstract code has no `if`; the decision is written with 0/1 factors.
CONTROLLER_STEP = """
boundary = int(t_in >= t_slot - 0.5*dt)
success = int(count >= min_spikes or repeats >= max_repeats or started < 0.5)
ptr = ptr + boundary * success * started
repeats = boundary * (1 - success) * (repeats + 1) + (1 - boundary) * repeats
intensity = boundary * (success * intensity0 + (1 - success) * (intensity + intensity_step)) + (1 - boundary) * intensity
count = count * (1 - boundary)
t_in = t_in * (1 - boundary)
started = 1
sample = presentation_order(ptr * ms)
on = int(t_in > 0.5*dt and t_in < t_on + 0.5*dt)
t_in = t_in + dt
"""

EXC_EQS = """
dv/dt = ((v_rest_e - v) + ge * (E_exc - v) + gi * (E_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
dtheta/dt = -theta * plastic / tau_theta : volt
dxpost1/dt = -xpost1 / tau_post1 : 1
dxpost2/dt = -xpost2 / tau_post2 : 1
wsum : 1
nspikes : 1
boundary : 1 (linked)
plastic : 1
theta_plus : volt
tau_theta : second
norm : 1
eta_depress : 1
eta_potent : 1
w_ie : 1
"""
EXC_RESET = """
v = v_reset_e
theta += theta_plus * plastic
xpost1 = 1
xpost2 = 1
nspikes += 1
"""
INH_EQS = """
dv/dt = ((v_rest_i - v) + ge * (E_exc - v) + gi * (E_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
w_ei : 1
"""
INPUT_EQS = """
rate : Hz
tspk : second
pixel : integer (constant)
rng_seed : integer
on : 1 (linked)
"""
PRE_TRACE = "exp((tspk_pre - t) / tau_pre)"
ON_PRE = """
ge_post += w
w_new = clip(w - eta_depress_post * xpost1_post * plastic_post, 0, wmax)
wsum_post += w_new - w
w = w_new
"""
ON_POST = f"""
w_new = clip(w + eta_potent_post * {PRE_TRACE} * xpost2_post * plastic_post, 0, wmax)
wsum_post += w_new - w
w = w_new
"""
NORMALISE = "w = w * norm_post / (wsum_post + 1e-12)"
AT_BOUNDARY = """
wsum = wsum + plastic * int(wsum > 0) * (norm - wsum)
nspikes = 0
"""
CONTROLLER_STEP_BATCHED = CONTROLLER_STEP.replace("presentation_order(ptr * ms)",
                                                  "presentation_order(ptr * ms, i)")
assert CONTROLLER_STEP_BATCHED != CONTROLLER_STEP
STATE_KEYS = ("w", "theta", "v")
_ACTIVE = [None]              # the BatchedNetwork whose build the standalone device holds


@dataclass(frozen=True)
class BatchSpec:
    """Structure of a batch: K copies of a D&C network of ``n_exc`` neurons on ``n_input`` inputs."""
    copies: int = 4
    n_input: int = 784
    n_exc: int = 100
    max_delay_ms: float = 10.0
    structure_seed: int = 0
    tau_pre_ms: float = 20.0

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"batch: {f.name} must be a finite number >= 0, got {v!r}")
        if self.copies < 1 or self.n_exc < 1 or self.n_input < 1:
            raise ValueError("batch: copies, n_exc and n_input must be >= 1")

    def delays_ms(self):
        """One copy's input delays (i-major), the same as models.diehl_cook.synaptic_delays_ms."""
        rng = np.random.default_rng(self.structure_seed)
        return rng.uniform(0, self.max_delay_ms, self.n_input * self.n_exc)


def initial_copy_state(spec: BatchSpec, seed, norm=DEFAULTS["norm"]):
    """D&C initial weights (U[0,1)+0.01)*0.3, columns scaled to ``norm``; theta 20 mV."""
    rng = np.random.default_rng(seed)
    w = ((rng.random(spec.n_input * spec.n_exc) + 0.01) * 0.3).reshape(spec.n_input, spec.n_exc)
    w *= norm / w.sum(axis=0)
    return {"w": w.ravel(), "theta": np.full(spec.n_exc, 0.02), "v": np.full(spec.n_exc, -0.105)}


class _BatchNet:
    """The Brian objects of a batch."""

    def __init__(self, spec: BatchSpec, images, order, pres: Presentation):
        K, N, P = spec.copies, spec.n_exc, spec.n_input
        images = np.asarray(images, dtype=float)
        self.images = TimedArray(images, dt=1 * ms, name="image_table")
        order = np.asarray(order, dtype=float).reshape(-1, K)
        self.order = TimedArray(order, dt=1 * ms, name="presentation_order")
        ctrl = NeuronGroup(K, CONTROLLER_EQS, threshold="boundary > 0.5", reset="", name="_controller",
                           namespace={"presentation_order": self.order})
        ctrl.run_regularly(CONTROLLER_STEP_BATCHED, when="start", order=-10, name="controller_step")
        for k, v in pres.runtime_values().items():
            setattr(ctrl, k, v)
        ctrl.t_in = pres.slot_ms * ms
        ctrl.intensity = pres.intensity0
        inp = NeuronGroup(K * P, INPUT_EQS, name="input", reset="tspk = t",
                          threshold="on > 0.5 and rate > 0*Hz and bsnn_uniform(rng_seed, t_in_timesteps, pixel) < rate*dt",
                          namespace={"bsnn_uniform": bsnn_uniform})
        inp.tspk = -1e9 * second
        inp.pixel = np.tile(np.arange(P), K)
        inp.on = linked_var(ctrl, "on", index=np.repeat(np.arange(K), P))
        set_rates = Synapses(ctrl, inp, on_pre="rate_post = image_table(sample_pre * ms, pixel_post) * intensity_pre * Hz / 8",
                             namespace={"image_table": self.images}, name="_set_rates")
        set_rates.connect(j=f"k for k in range(i * {P}, (i + 1) * {P})")
        exc = NeuronGroup(K * N, EXC_EQS, threshold="v > theta - theta_offset + v_thresh_e", reset=EXC_RESET,
                          refractory=5 * ms, method=METHOD, name="exc", namespace=NS,
                          events={"boundary": "boundary > 0.5", "renorm": "boundary > 0.5 and plastic > 0.5"})
        exc.boundary = linked_var(ctrl, "boundary", index=np.repeat(np.arange(K), N))
        exc.run_on_event("boundary", AT_BOUNDARY)
        exc.v = NS["v_rest_e"] - 40 * mV
        exc.theta = 20 * mV
        syn = Synapses(inp, exc, "w : 1", on_pre={"pre": ON_PRE},
                       on_post={"post": ON_POST, "normalise": NORMALISE},
                       on_event={"pre": "spike", "post": "spike", "normalise": "renorm"},
                       namespace=dict(wmax=NS["wmax"], tau_pre=spec.tau_pre_ms * ms), name="input_exc")
        syn.connect(j=f"k for k in range((i // {P}) * {N}, (i // {P} + 1) * {N})")
        if spec.max_delay_ms > 0:
            syn.delay = np.tile(spec.delays_ms(), K) * ms      # compiled in (structure)
        inh = NeuronGroup(K * N, INH_EQS, threshold="v > v_thresh_i", reset="v = v_reset_i",
                          refractory=2 * ms, method=METHOD, name="inh", namespace=NS)
        inh.v = NS["v_rest_i"] - 40 * mV
        e2i = Synapses(exc, inh, on_pre="ge_post += w_ei_post", name="exc_inh")
        e2i.connect(j="i")
        i2e = Synapses(inh, exc, on_pre="gi_post += w_ie_post", name="inh_exc")
        i2e.connect(j=f"k for k in range((i // {N}) * {N}, (i // {N} + 1) * {N}) if k != i")
        counter = Synapses(exc, ctrl, on_pre="count_post += 1", name="_spike_counter")
        counter.connect(j=f"i // {N}")
        self.ctrl, self.inp, self.exc, self.inh, self.syn = ctrl, inp, exc, inh, syn
        self.slots = SpikeMonitor(ctrl, variables=["ptr"], name="_slots")
        self.exc_mon = SpikeMonitor(exc, name="_exc_spikes")
        self.mons = {(g.name, "spike"): EventMonitor(g, "spike", variables=[], record=False,
                                                    name=f"_count_{g.name}_spike") for g in (inp, inh)}
        self.mons[("exc", "renorm")] = EventMonitor(exc, "renorm", variables=[], record=False,
                                                    name="_count_exc_renorm")
        self.net = Network(ctrl, inp, set_rates, exc, syn, inh, e2i, i2e, counter, self.slots, self.exc_mon,
                           *self.mons.values())
        self.spec, self.pres = spec, pres
        self.pathways = [syn, e2i, i2e]
        self.kernels = kernels_per_step(self.net.objects)     # of the whole batch: the copies share them

    # values that change between runs: (view or TimedArray) -> value
    def settings(self, states, params, order, seeds, plastic):
        spec, K, N, P = self.spec, self.spec.copies, self.spec.n_exc, self.spec.n_input
        col = lambda name: np.repeat([p[name] for p in params], N)            # noqa: E731
        w = np.concatenate([s["w"] for s in states])
        wsum = np.concatenate([np.asarray(s["w"]).reshape(P, N).sum(axis=0) for s in states])
        vals = {self.exc.theta: np.concatenate([s["theta"] for s in states]) * brian2.volt,
                self.exc.v: np.concatenate([s.get("v", np.full(N, -0.105)) for s in states]) * brian2.volt,
                self.exc.wsum: wsum, self.syn.w: w,
                self.exc.plastic: np.full(K * N, float(plastic)),
                self.exc.theta_plus: col("theta_plus_mV") * mV, self.exc.tau_theta: col("tau_theta_ms") * ms,
                self.exc.norm: col("norm"), self.exc.eta_depress: col("nu_pre"),
                self.exc.eta_potent: col("nu_post"), self.exc.w_ie: col("w_ie"),
                self.inh.w_ei: col("w_ei"),
                self.inp.rng_seed: np.repeat(np.asarray(seeds, dtype=np.int64) % (2 ** 31), P).astype(np.int32),
                self.order: np.asarray(order, dtype=float),
                self.ctrl.ptr: np.zeros(K)}
        for name, value in self.pres.runtime_values().items():
            vals[getattr(self.ctrl, name)] = value
        return vals


@dataclass
class BatchResult:
    states: list                  # per copy: {"w", "theta", "v"}
    responses: list               # per copy: [n_samples, n_exc] spike counts of the final presentation
    counts: list                  # per copy: hwmodel.Counts
    presentations: list           # per copy: slots used
    sim_wall_s: float
    build_s: float
    timings: dict = field(default_factory=dict)


class BatchedNetwork:
    """Build once (cpp or cuda standalone), run many times with new data/parameters/seeds.

    ``backend``: ``"cpp"`` or ``"cuda"`` (``cuda_options``: keyword arguments of
    :class:`brian_snn.cuda.CudaBackend`).  ``slots``: presentation slots per compiled run.
    """

    def __init__(self, spec: BatchSpec, presentation: Presentation, n_images, slots, backend="cpp",
                 cache_dir=None, cuda_options=None, verbose=False):
        if backend not in ("cpp", "cuda"):
            raise ValueError(f"batched networks run on cpp or cuda, not {backend!r}")
        self.spec, self.pres, self.n_images, self.slots = spec, presentation, int(n_images), int(slots)
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.cuda_options = dict(cuda_options or {})
        self.verbose = verbose
        self._net = None
        self.build_s = 0.0

    def key(self):
        desc = {"batch": {f.name: getattr(self.spec, f.name) for f in fields(self.spec)},
                "dt_ms": self.pres.dt_ms, "slot_ms": self.pres.slot_ms, "n_images": self.n_images,
                "slots": self.slots, "backend": self.backend, "code": BATCH_CODE_VERSION,
                "brian2": brian2.__version__}
        if self.backend == "cuda":
            desc["cuda"] = self._cuda().options().describe()
        return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16], desc

    def _cuda(self):
        if not hasattr(self, "_cuda_backend"):
            from .cuda import CudaBackend
            self._cuda_backend = CudaBackend(**self.cuda_options)
        return self._cuda_backend

    def build(self, images):
        if self._net is not None and _ACTIVE[0] is self:
            return self._net
        self._net = None         # another build took the (single) standalone device: build again
        key, desc = self.key()
        directory = self.cache_dir / f"batch-{self.backend}-{key}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "build.json").write_text(json.dumps(desc, indent=1))
        if self.backend == "cuda":
            import brian2cuda  # noqa: F401
            name = "cuda_standalone"
        else:
            from .backend import check_compiler
            check_compiler()
            name = "cpp_standalone"
        set_device(name, build_on_run=False, directory=str(directory))
        device.reinit()
        device.activate(build_on_run=False, directory=str(directory))
        if self.backend == "cuda":
            from .cuda import configure_prefs
            configure_prefs(self._cuda().options(), directory)
        else:
            prefs.devices.cpp_standalone.openmp_threads = 0
        defaultclock.dt = self.pres.dt_ms * ms
        K = self.spec.copies
        order = np.full((self.slots + 1, K), self.n_images - 1, dtype=float)
        images = np.asarray(images, dtype=float)
        if images.shape != (self.n_images, self.spec.n_input):
            raise ValueError(f"images must have shape ({self.n_images}, {self.spec.n_input}), got {images.shape}")
        bn = _BatchNet(self.spec, images, order, self.pres)
        bn.net.run(self.slots * self.pres.slot_ms * ms)
        t0 = time.perf_counter()
        with _locked(directory):
            try:
                if self.backend == "cuda":
                    from .cuda import arch_flag, patch_makefile, run_make
                    o = self._cuda().options()
                    device.build(directory=str(directory), compile=False, run=False)
                    patch_makefile(directory, nvcc=o.toolchain.nvcc if o.toolchain else "nvcc",
                                   cxx_std=o.toolchain.cxx_std if o.toolchain else "c++17",
                                   arch=arch_flag(o.compute_capability), curand_inc=o.curand[0],
                                   curand_lib=o.curand[1])
                    if self._cuda().compile:
                        run_make(directory, o.make_jobs)
                else:
                    device.build(directory=str(directory), compile=True, run=False)
            except BackendError:
                raise
            except Exception as e:
                s = str(e).strip()
                raise BackendError(f"building the batch in {directory} failed: "
                                   f"{s.splitlines()[-1] if s else type(e).__name__}") from e
        self.build_s = time.perf_counter() - t0
        bn.directory = directory
        self._net = bn
        _ACTIVE[0] = self
        return bn

    def run_chunk(self, images, states, params, order, seeds, plastic):
        """One compiled run of ``self.slots`` slots; ``order`` [slots+1, K] of image indices."""
        bn = self.build(images)
        vals = bn.settings(states, params, order, seeds, plastic)
        vals[bn.images] = np.asarray(images, dtype=float)
        args, written = _run_args_list(bn.directory, vals)
        res = f"results_{os.getpid()}"
        t0 = time.perf_counter()
        device.run(directory=str(bn.directory), results_directory=res, with_output=self.verbose, run_args=args)
        wall = time.perf_counter() - t0
        out = self._collect(bn)
        out["net_s"] = getattr(device, "_last_run_time", None)     # the network's run inside the binary
        shutil.rmtree(Path(bn.directory) / res, ignore_errors=True)
        for f in written:
            if not f.name.startswith("init_image_table_"):
                f.unlink(missing_ok=True)
        return out, wall

    def _collect(self, bn):
        K, N, P = self.spec.copies, self.spec.n_exc, self.spec.n_input
        w = np.asarray(bn.syn.w[:], dtype=float).reshape(K, P * N)
        theta = np.asarray(bn.exc.theta_[:], dtype=float).reshape(K, N)
        v = np.asarray(bn.exc.v_[:], dtype=float).reshape(K, N)
        states = [{"w": w[k].copy(), "theta": theta[k].copy(), "v": v[k].copy()} for k in range(K)]
        slot_i = np.asarray(bn.slots.i[:]).astype(np.int64)
        slot_t = np.asarray(bn.slots.t_[:])
        slot_ptr = np.asarray(bn.slots.ptr[:]).astype(np.int64)
        ei = np.asarray(bn.exc_mon.i[:]).astype(np.int64)
        et = np.asarray(bn.exc_mon.t_[:])
        counts = {key: np.asarray(m.count[:], dtype=np.int64) for key, m in bn.mons.items()}
        counts[("exc", "spike")] = np.bincount(ei, minlength=K * N)
        return {"states": states, "slot_i": slot_i, "slot_t": slot_t, "slot_ptr": slot_ptr,
                "exc_i": ei, "exc_t": et, "counts": counts, "kernels_per_step": bn.kernels}


def _copy_counts(spec, pres, raw, k, real_slots, phase, t_end):
    """hwmodel Counts of copy ``k`` (exact: spikes, Σ spikes x out-degree, plasticity updates).

    The record carries ``kernels_per_step`` of the batched network and ``batch`` = K: each of
    its kernel launches serves all K copies, so a copy's share of the per-step launch cost is
    1/K of that of ``kernels_per_step`` kernels."""
    N, P = spec.n_exc, spec.n_input
    sl = lambda a, n: a[k * n:(k + 1) * n]                                         # noqa: E731
    exc_sel = (raw["exc_i"] // N == k) & (raw["exc_t"] < t_end - 1e-12)
    exc_sp = np.bincount(raw["exc_i"][exc_sel] - k * N, minlength=N)
    inp_sp = sl(raw["counts"][("input", "spike")], P)
    inh_sp = sl(raw["counts"][("inh", "spike")], N)
    renorm = sl(raw["counts"][("exc", "renorm")], N)
    steps = real_slots * pres.steps_per_slot
    training = phase == "training"
    pops = [PopulationCounts("exc", N, int(exc_sp.sum()), N * steps, 16),
            PopulationCounts("inh", N, int(inh_sp.sum()), N * steps, 3),
            PopulationCounts("input", P, int(inp_sp.sum()), P * steps, 2)]
    ev_in = int(inp_sp.sum()) * N
    plast = ev_in + int(exc_sp.sum()) * P + int(renorm.sum()) * P
    paths = [PathwayCounts("exc_inh", "exc", "inh", N, int(exc_sp.sum()), 0, 32, False),
             PathwayCounts("inh_exc", "inh", "exc", N * (N - 1), int(inh_sp.sum()) * (N - 1), 0, 32, False),
             PathwayCounts("input_exc", "input", "exc", P * N, ev_in, plast if training else 0, 32, True)]
    extra = {"simulator": SIMULATOR, "batch": int(spec.copies)}
    if raw.get("kernels_per_step") is not None:
        extra["kernels_per_step"] = int(raw["kernels_per_step"])
    return Counts(pres.dt_ms * 1e-3, int(steps), 0, phase, pops, paths, extra)


def present_batched(net: BatchedNetwork, images, orders, states, params, seeds, plastic, phase="training"):
    """Show ``images[orders[k]]`` to copy k (all copies the same number of samples; the last row
    of ``images`` must be blank), chunk by chunk, carrying each copy's learned state."""
    spec, pres = net.spec, net.pres
    K = spec.copies
    orders = [np.asarray(o, dtype=np.int64) for o in orders]
    if len(orders) != K or len(states) != K or len(params) != K or len(seeds) != K:
        raise ValueError(f"give one order, state, parameter set and seed per copy ({K})")
    params = [dict(DEFAULTS, **p) for p in params]
    for p in params:
        unknown = set(p) - set(PARAMS)
        if unknown:
            raise ValueError(f"unknown batch parameter {sorted(unknown)[0]!r}; known: {', '.join(PARAMS)}")
    n = len(orders[0])
    blank = len(images) - 1
    pos = np.zeros(K, dtype=np.int64)
    responses = [np.zeros((n, spec.n_exc), dtype=np.int64) for _ in range(K)]
    counts = [None] * K
    used = [0] * K
    sim, net_s, chunk = 0.0, 0.0, 0
    states = [dict(s) for s in states]
    while (pos < n).any():
        window = np.full((net.slots + 1, K), blank, dtype=np.int64)
        for k in range(K):
            part = orders[k][pos[k]:pos[k] + net.slots + 1]
            window[:len(part), k] = part
        chunk_seeds = [(int(s) * 100003 + chunk) % (2 ** 31) for s in seeds]
        raw, wall = net.run_chunk(images, states, params, window, chunk_seeds, plastic)
        sim += wall
        net_s += raw["net_s"] or 0.0
        chunk += 1
        for k in range(K):
            if pos[k] >= n:          # this copy is done (it was shown blank padding)
                continue
            states[k] = raw["states"][k]
            mine = raw["slot_i"] == k
            st, sp = raw["slot_t"][mine], raw["slot_ptr"][mine]
            real = int(np.searchsorted(sp, n - pos[k], side="left"))
            t_end = real * pres.slot_ms * 1e-3
            c = _copy_counts(spec, pres, raw, k, real, phase, t_end)
            counts[k] = c if counts[k] is None else counts[k] + c
            used[k] += real
            sel = raw["exc_i"] // spec.n_exc == k
            ei, et = raw["exc_i"][sel] - k * spec.n_exc, raw["exc_t"][sel]
            slot_of = np.searchsorted(st, et, side="right") - 1
            for s in range(real):
                responses[k][pos[k] + sp[s]] = np.bincount(ei[slot_of == s], minlength=spec.n_exc)
            last = pos[k] + (int(sp[-1]) if len(sp) else 0)
            if real == 0:
                raise BackendError(f"copy {k} made no progress in a chunk of {net.slots} slots")
            pos[k] = min(last, n) if last < n else n
    for c in counts:
        c.samples = n
    return BatchResult(states, responses, counts, used, sim, net.build_s, {"net_s": net_s, "chunks": chunk})


def batch_counts(counts_list):
    """The counts of a whole batch as one network (what the hardware runs): populations and pathways
    K times larger, activity summed; ``steps`` is the batch's (shared) number of steps.  The record
    keeps ``kernels_per_step`` (each kernel is launched once per step for the whole batch) and says
    ``copies`` = K; it has no ``batch`` key, since it is the whole launch, not a copy's share."""
    first = counts_list[0]
    pops = [PopulationCounts(p.name, sum(c.populations[i].n for c in counts_list),
                             sum(c.populations[i].spikes for c in counts_list),
                             sum(c.populations[i].neuron_updates for c in counts_list), p.state_vars)
            for i, p in enumerate(first.populations)]
    paths = [PathwayCounts(s.name, s.pre, s.post, sum(c.pathways[i].n_synapses for c in counts_list),
                           sum(c.pathways[i].synaptic_events for c in counts_list),
                           sum(c.pathways[i].plasticity_updates for c in counts_list), s.weight_bits, s.plastic)
             for i, s in enumerate(first.pathways)]
    extra = {k: v for k, v in first.extra.items() if k != "batch"}
    extra["copies"] = len(counts_list)
    return Counts(first.dt_s, max(c.steps for c in counts_list), sum(c.samples for c in counts_list),
                  first.phase, pops, paths, extra)
