"""Input encoding and the presentation schedule, both inside the network.

A whole training epoch runs in one compiled binary, so nothing here happens in Python per
sample.  A one-neuron *controller* group keeps the schedule:

* every sample occupies one *slot* of ``t_on + t_rest``; the controller counts time in the
  slot and raises ``boundary`` on the first step of each slot;
* at a boundary it decides whether the previous presentation worked: if the excitatory
  layer fired fewer than ``min_spikes`` spikes, the same image is shown again with the input
  intensity raised by ``intensity_step`` (Diehl & Cook's rule, at most ``max_repeats``
  times); otherwise the next image of the ``order`` table is shown at ``intensity0``;
* input neurons fire Poisson spikes at ``pixel/8 * intensity`` Hz during ``t_on`` (so 63.75 Hz
  for a white pixel at the default intensity 2) and are silent during ``t_rest``.

The window lengths, intensities and the boost rule are run-time values (shared variables of
the controller), so sweeps over them reuse one compiled binary.  The image table and the
presentation order are ``TimedArray`` s, replaced per run without recompiling.

A compiled run has a fixed duration, so a run that should be shorter -- a chunk of short slots,
or the last chunk, whose samples may end early -- ends itself (:func:`add_end_of_run`): after
the step that completes the last whole slot before ``t_stop``, or after the boundary step that
follows the last real sample (order position ``n_stop``).
"""
from dataclasses import dataclass

import numpy as np
import brian2
from brian2 import Function, TimedArray, ms, second

from .copies import Builder


@dataclass(frozen=True)
class Presentation:
    """Timing and intensity of sample presentation (Diehl & Cook 2015 defaults)."""
    t_on_ms: float = 350.0
    t_rest_ms: float = 150.0
    dt_ms: float = 0.5
    intensity0: float = 2.0          # rate = pixel / 8 * intensity  [Hz]
    intensity_step: float = 1.0
    min_spikes: int = 5              # fewer excitatory spikes than this -> show again, brighter
    max_repeats: int = 5             # give up after this many repeats (our choice: avoids endless loops)
    # Adaptive window (TopSpark, issue 26; 0 = fixed windows): a presentation ends at the first step at
    # which the leading excitatory neuron has >= stop_lead spikes, leads the runner-up by >= stop_margin
    # and the layer has >= min_spikes; t_on_ms is then the maximum window.
    stop_lead: int = 0
    stop_margin: int = 0

    def __post_init__(self):
        for name in ("t_on_ms", "t_rest_ms", "dt_ms", "intensity0"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"Presentation.{name} must be a positive number, got {v!r}")
        if self.t_rest_ms < 0 or self.intensity_step < 0 or self.min_spikes < 0 or self.max_repeats < 0:
            raise ValueError("Presentation: intensity_step, min_spikes and max_repeats must be >= 0")
        for name in ("stop_lead", "stop_margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not float(v).is_integer() or not 0 <= v <= 2 ** 31 - 1:
                raise ValueError(f"Presentation.{name} must be a whole number >= 0, got {v!r}")
        for name in ("t_on_ms", "t_rest_ms"):
            steps = getattr(self, name) / self.dt_ms
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"Presentation.{name} must be a multiple of dt ({self.dt_ms} ms)")

    @property
    def adaptive(self) -> bool:
        return self.stop_lead > 0

    @property
    def slot_ms(self) -> float:
        return self.t_on_ms + self.t_rest_ms

    @property
    def steps_per_slot(self) -> int:
        return int(round(self.slot_ms / self.dt_ms))

    def runtime_values(self) -> dict:
        """Controller values for one run (no recompilation needed to change them)."""
        return {"t_on": self.t_on_ms * ms, "t_slot": self.slot_ms * ms,
                "intensity0": self.intensity0, "intensity_step": self.intensity_step,
                "min_spikes": self.min_spikes, "max_repeats": self.max_repeats,
                "stop_lead": self.stop_lead, "stop_margin": self.stop_margin}


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
t_stop : second (shared)      # the run ends at this time (a whole number of slots) ...
n_stop : 1 (shared)           # ... or at the boundary reaching this order position
n_real : 1 (shared)           # order positions from here on are padding, not samples
real : 1                      # 1 while the slot shows a real sample (what the counts cover)
stopped : 1
t_end_on : second             # the input of this slot ends here (t_on, or earlier: adaptive window)
lead : 1                      # adaptive window: spikes of the leading excitatory neuron in this slot,
lead_i : 1                    # its index (-1: none yet)
runner_up : 1                 # and the most spikes of any other neuron
stop_lead : 1 (shared)        # adaptive window (0: off): the leader needs this many spikes ...
stop_margin : 1 (shared)      # ... and this lead over the runner-up
"""

# Abstract code has no `if`; the decision is written with 0/1 factors.  Adaptive window: while the
# input is on, a met criterion (spikes of earlier steps) ends the input before this step; the rest
# follows, so the slot ends t_slot - t_on after the input does.  With fixed windows t_end_on = t_on.
CONTROLLER_STEP = """
stop_now = int(stop_lead > 0.5 and t_in > 0.5*dt and t_in < t_end_on + 0.5*dt and lead >= stop_lead and lead - runner_up >= stop_margin and count >= min_spikes)
t_end_on = stop_now * (t_in - dt) + (1 - stop_now) * t_end_on
boundary = int(t_in >= t_slot - (t_on - t_end_on) - 0.5*dt)
success = int(count >= min_spikes or repeats >= max_repeats or started < 0.5)
ptr = ptr + boundary * success * started
repeats = boundary * (1 - success) * (repeats + 1) + (1 - boundary) * repeats
intensity = boundary * (success * intensity0 + (1 - success) * (intensity + intensity_step)) + (1 - boundary) * intensity
count = count * (1 - boundary)
t_end_on = boundary * t_on + (1 - boundary) * t_end_on
lead = lead * (1 - boundary)
runner_up = runner_up * (1 - boundary)
lead_i = lead_i * (1 - boundary) - boundary
t_in = t_in * (1 - boundary)
started = 1
sample = presentation_order(ptr * ms)
real = int(ptr < n_real - 0.5)
on = int(t_in > 0.5*dt and t_in < t_end_on + 0.5*dt)
t_in = t_in + dt
"""


# Adaptive window, with learning-rule enhancements that follow the steps actually used (issue 26):
# the controller also keeps the length of the current slot's input (t_used, final once the input
# has ended; kept through the boundary step) and raises ``input_end`` on the first step after the
# input is switched off; ``window_ratio`` = t_on / t_used is the factor by which that input was
# shorter than the maximum window (build_exc_layer rescales the threshold growth with it).
INPUT_END_EQS = """
t_used : second               # input length of the current (or, on a boundary step, the last) slot
was_on : 1
input_end : 1                 # 1 on the first step after a slot's input ended
window_ratio : 1              # t_on / t_used
"""
# Added around CONTROLLER_STEP: ``on`` is kept before the step recomputes it; after it, t_used
# follows t_end_on except on a boundary step (which has already reset t_end_on: the last slot's
# value is kept).
INPUT_END_BEFORE = "was_on = on\n"
INPUT_END_AFTER = """t_used = boundary * t_used + (1 - boundary) * t_end_on
input_end = int(was_on > 0.5 and on < 0.5)
window_ratio = t_on / clip(t_used, dt, t_on)
"""


def _end_run_python(stop):
    if np.any(np.asarray(stop) > 0):
        brian2.stop()        # the runtime loop ends after the current step
    return stop


# cpp_standalone: Clock.i_end is private, so the step counter is pushed past it; the loop then
# ends after the current step (objects of this step still run; nothing reads the counter later).
_END_RUN_CPP = """
#include <limits>
static inline int end_run(int stop) {
    if (stop) brian::defaultclock.timestep[0] = std::numeric_limits<int64_t>::max() / 2;
    return stop;
}
"""
_END_RUN_CYTHON = """
from brian2 import stop as _brian_stop
cdef int end_run(int stop):
    if stop:
        _brian_stop()
    return stop
"""
END_RUN = Function(_end_run_python, arg_units=[1], return_unit=1, arg_types=["integer"],
                   return_type="integer", stateless=False)
END_RUN.implementations.add_implementation("cpp", _END_RUN_CPP, name="end_run")
END_RUN.implementations.add_implementation("cython", _END_RUN_CYTHON, name="end_run")
END_CONDITION = "int(t + 1.5*dt > t_stop or (boundary > 0.5 and ptr >= n_stop - 0.5))"
# Adaptive windows: slots vary in length, so a run also ends after the last step of a slot (the
# next step is a boundary) when the chunk's order is used up (chunk_slots = t_stop / t_slot slots)
# or when a slot of the maximum length would not fit before t_stop: a run never stops inside a slot.
END_CONDITION_ADAPTIVE = ("int(" + END_CONDITION[4:-1] + " or (stop_lead > 0.5 and t_in >= t_slot - (t_on - t_end_on) - 0.5*dt"
                          " and (ptr + 1.5 > t_stop / t_slot or t + dt + t_slot > t_stop + 0.5*dt)))")


def add_end_of_run(ctrl):
    """Let the controller end a run early (see the module docstring); the last object of a step,
    so that step completes.  Needs a backend whose main loop runs on the host (runtime, cpp)."""
    return ctrl.run_regularly("stopped = end_run(%s)" % END_CONDITION_ADAPTIVE, when="end", order=1000,
                              name="_end_of_run")


# The input neurons keep no per-step state: their STDP trace is evaluated lazily from the last
# spike time, x_pre(t) = exp(-(t - tspk)/tau_pre) (a nearest-spike trace), where a synapse
# needs it -- that removes 784 trace updates per step.
INPUT_EQS = """
rate : Hz
tspk : second
on : 1 (linked)
"""
PRE_TRACE = "exp((tspk_pre - t) / tau_pre)"


def build_schedule(images, order, presentation: Presentation, name="input", builder=None, input_end=False):
    """Create the controller and the Poisson input layer.

    ``images``: array [n_images, n_pixels] of pixel values 0..255; its last row should be blank
    (padding points there).  ``order``: array of image indices, one per sample (batched copies:
    [samples, copies], one column per copy).  ``builder``: how the objects are created
    (:class:`~brian_snn.copies.Builder`; default: one plain network).  ``input_end``: the
    controller also marks the end of each slot's input (:data:`INPUT_END_EQS`).
    Returns ``(controller, input_group, images_ta, order_ta, bookkeeping objects)``.
    """
    b = builder or Builder()
    images = np.asarray(images)
    n_pixels = images.shape[1]
    images_ta = TimedArray(images.astype(np.float64), dt=1 * ms, name="image_table")
    order_ta = TimedArray(np.asarray(order, dtype=np.float64), dt=1 * ms, name="presentation_order")
    step = CONTROLLER_STEP if not b.batched else CONTROLLER_STEP.replace(
        "presentation_order(ptr * ms)", "presentation_order(ptr * ms, i)")   # a column per copy
    if input_end:
        step = INPUT_END_BEFORE + step + INPUT_END_AFTER
    ctrl = b.neurons(1, CONTROLLER_EQS + (INPUT_END_EQS if input_end else ""), "_controller",
                     threshold="boundary > 0.5", reset="",
                     namespace={"presentation_order": order_ta, "end_run": END_RUN})
    ctrl.run_regularly(step, when="start", order=-10, name="controller_step")
    for k, v in presentation.runtime_values().items():
        setattr(ctrl, k, v)
    ctrl.t_in = presentation.slot_ms * ms     # first step of a run is a boundary
    ctrl.t_end_on = presentation.t_on_ms * ms
    ctrl.lead_i = -1
    ctrl.intensity = presentation.intensity0

    uniform, noise_eqs, noise_ns = b.uniform(n_pixels)
    inp = b.neurons(n_pixels, INPUT_EQS + noise_eqs, name,
                    threshold=f"on > 0.5 and rate > 0*Hz and {uniform} < rate*dt",
                    reset="tspk = t", namespace=noise_ns)
    inp.tspk = -1e9 * second
    b.link(inp, "on", ctrl, np.zeros(n_pixels, dtype=int))
    # At each slot boundary the controller's spike sets the new rates (no per-step check).
    set_rates = b.synapses(ctrl, inp, name="_set_rates", namespace={"image_table": images_ta},
                           on_pre=f"rate_post = image_table(sample_pre * ms, {b.local('j', name)}) "
                                  "* intensity_pre * Hz / 8")
    b.connect(set_rates)
    return ctrl, inp, images_ta, order_ta, [set_rates]


# The adaptive window's leader: a spike of neuron i brings its count in this slot to c (its
# nspikes, reset at the slot's boundary step after this pathway ran); counts grow by one, so the
# leader, its index and the runner-up's count stay exact.
TRACK_LEADER = """
c_new = (1 - boundary_post) * nspikes_pre + 1
same = int(abs(lead_i_post - i) < 0.5)
above = int(c_new > lead_post)
runner_up_post = same * runner_up_post + (1 - same) * (above * lead_post + (1 - above) * (runner_up_post + (c_new - runner_up_post) * int(c_new > runner_up_post)))
lead_i_post = same * lead_i_post + (1 - same) * (above * i + (1 - above) * lead_i_post)
lead_post = same * c_new + (1 - same) * (above * c_new + (1 - above) * lead_post)
"""


def spike_counter(exc, ctrl, builder=None):
    """Bookkeeping pathway: every excitatory spike increments the controller's counter (and keeps
    the adaptive window's leader, :data:`TRACK_LEADER`).

    It is not part of the model (hardware would use a counter register), so the activity
    counter leaves it out (its name starts with an underscore)."""
    b = builder or Builder()
    s = b.synapses(exc, ctrl, on_pre="count_post += 1\n" + TRACK_LEADER, name="_spike_counter")
    b.connect(s)
    return s
