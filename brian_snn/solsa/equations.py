"""SOLSA as Brian2 equations: every model / learning string lives here, close to the math.

The model is a discrete-time map (dt = one step), so the state variables are plain parameters updated
by ``run_regularly`` code in a fixed order inside each time step (see ``STEP_ORDER``).  Symbols:

    source group  (input channels, or the spikes of layer l-1): owns the filter of the layer it feeds
        F = alpha F + beta s                       (synaptic filter, one per presynaptic channel)
        q = F_old + alpha q,  r = s + alpha r      (dF/dalpha, dF/dbeta; adaptive filter only)
    LIF group  (layer l)
        V = lam V + I - v_r O,  O = [V > theta],   eps = surrogate(V)
        k = lam - v_r eps_prev                     (reset feedback factor of the trace)
        h = k h + sum_i w q_i,  g = k g + sum_i w r_i          (dV/dalpha, dV/dbeta)
        L = 2 (O - target) / K eps   (output)   or   L = beta_next (sum_j w L_j) eps   (hidden)
    synapse i -> j
        I_post = w F_pre  (summed)
        elig = k_post elig + F_pre                 (per-synapse eligibility trace e_ji)
        w -= gate_post * eta * RMSprop(L_post elig)   at scheduled update steps (gate = 1)

Time-varying inputs come from TimedArrays laid out over the whole epoch: ``x_ta(t, i)`` (input),
``y_ta(t, i)`` (target), ``upd_ta(t)`` (1 at scheduled update steps).
"""
from __future__ import annotations

SURROGATE = "exp(-(V - theta)**2 / (2*sigma**2)) / (sqrt(2*pi)*sigma)"

# ---------------------------------------------------------------- variable declarations
SOURCE_VARS = """
F : 1         # synaptic filter state of this channel (drives the next layer)
q : 1         # dF/dalpha
r : 1         # dF/dbeta
alpha : 1     # filter decay of the next layer (identical copy in every channel)
beta : 1      # filter gain of the next layer
accA : 1      # dE/dalpha accumulated since the last update
accB : 1      # dE/dbeta accumulated since the last update
msA : 1       # RMSprop second moments of alpha, beta
msB : 1
gA : 1        # sum_j L_j h_j over the next layer (summed from the synapses)
gB : 1        # sum_j L_j g_j
gate : 1      # 1 when parameters are updated in this step
stop : 1      # early-stop flag broadcast from the output layer
"""

LIF_VARS = """
V : 1         # membrane potential
O : 1         # spike (0/1) or, for a membrane readout, O = V
eps : 1       # surrogate dO/dV
eps_prev : 1  # eps of the previous step
k : 1         # lam - v_r eps_prev, the trace decay with reset feedback
I : 1         # sum_i w F_i (summed from the incoming synapses)
L : 1         # learning signal delta_j = dE[t]/dV_j (same step)
h : 1         # dV/dalpha of the incoming filter
g : 1         # dV/dbeta of the incoming filter
Hq : 1        # sum_i w q_i (summed)
Gr : 1        # sum_i w r_i (summed)
gate : 1
stop : 1
"""

HIDDEN_EXTRA_VARS = "Lb : 1        # sum_j w L_j of the layer above (summed)\n"

OUTPUT_EXTRA_VARS = """
target : 1     # y(t) for this output neuron
cnt : 1        # output spikes of this neuron in the current sample
tot : 1        # total output count in this sample (summed over the output layer)
tc : 1         # count of the target neuron(s) (summed)
hits : 1       # confident update steps in this sample
stopped : 1    # 1 once hits >= hits_needed
n_upd : 1      # update steps applied (cumulative, for statistics)
es_on : 1 (shared)   # early stop active in this epoch
"""

SYNAPSE_VARS = """
w : 1          # weight W_ji
elig : 1       # eligibility trace e_ji
msw : 1        # RMSprop second moment of w
gw : 1         # sum_t L_j e_ji, kept only to check gradients
"""

# ---------------------------------------------------------------- per-step code
GATE = "gate = upd_ta(t) * (1 - stop)\n"

FILTER_TRACES = """
q = F + alpha*q
r = {s} + alpha*r
"""
FILTER = "F = alpha*F + beta*{s}\n"

LIF_UPDATE = """
eps_prev = eps
k = lam - v_r*eps_prev
V = lam*V + I - v_r*O
O = int(V > theta)
eps = {surrogate}
""".replace("{surrogate}", SURROGATE)

MEMBRANE_UPDATE = """
eps_prev = eps
k = lam
V = lam*V + I
O = V
eps = 1
"""

OUTPUT_SIGNAL = """
cnt += O
target = y_ta(t, i)
L = 2*(O - target) / n_out * eps
"""

HIDDEN_SIGNAL = "L = beta*Lb*eps\n"          # beta here is the filter gain of the layer above

FILTER_GRADIENT_TRACES = """
h = k*h + Hq
g = k*g + Gr
"""

ACCUMULATE_FILTER_GRADIENT = """
accA += gA
accB += gB
"""

FILTER_UPDATE = {
    "rmsprop": """
msA += gate*(1 - rho)*(accA**2 - msA)
msB += gate*(1 - rho)*(accB**2 - msB)
alpha = clip(alpha - gate*eta_f*accA/(sqrt(msA) + opt_eps), alpha_min, alpha_max)
beta = clip(beta - gate*eta_f*accB/(sqrt(msB) + opt_eps), beta_min, inf)
accA = accA*(1 - gate)
accB = accB*(1 - gate)
""",
    "sgd": """
alpha = clip(alpha - gate*eta_f*accA, alpha_min, alpha_max)
beta = clip(beta - gate*eta_f*accB, beta_min, inf)
accA = accA*(1 - gate)
accB = accB*(1 - gate)
""",
}

TRACE_UPDATE = """
elig = k_post*elig + F_pre
dw = L_post*elig
"""
RECORD_GRADIENT = "gw += dw\n"
WEIGHT_UPDATE = {
    "rmsprop": """
msw += gate_post*(1 - rho)*(dw**2 - msw)
w -= gate_post*eta*dw/(sqrt(msw) + opt_eps)
""",
    "sgd": "w -= gate_post*eta*dw\n",
}

EARLY_STOP = """
hits += gate*es_on*int(tot > 0 and tc >= p_thr*tot)
stopped = int(hits >= hits_needed)
stop = stopped
n_upd += gate
"""
COUNT_UPDATES = "n_upd += gate\n"

# summed variables (one Synapses object per target variable)
FORWARD_CURRENT = "I_post = w*F_pre : 1 (summed)"
BACKWARD_SIGNAL = "Lb_pre = w*L_post : 1 (summed)"
FILTER_DRIVES = "Hq_post = w*q_pre : 1 (summed)\nGr_post = w*r_pre : 1 (summed)"
FILTER_GRADIENTS = "gA_pre = L_post*h_post : 1 (summed)\ngB_pre = L_post*g_post : 1 (summed)"
JUDGE = "tot_post = cnt_pre : 1 (summed)\ntc_post = cnt_pre*target_pre : 1 (summed)"
BROADCAST_STOP = "stop_post = stopped_pre : 1 (summed)"
ABS_DW = "absdw_post = abs(L_post*elig) : 1 (summed)"

# sample boundaries: zero every state that the reference resets per sequence
RESET_SOURCE = "F = 0\nq = 0\nr = 0\naccA = 0\naccB = 0\nstop = 0\n"
RESET_LIF = "V = 0\nO = 0\neps = 0\neps_prev = 0\nh = 0\ng = 0\nstop = 0\n"
RESET_OUTPUT = "cnt = 0\nhits = 0\nstopped = 0\n"
RESET_SYNAPSE = "elig = 0\n"

# (when, order) of each piece inside one dt; l = 1..n_layers, summed updaters included.
STEP_ORDER = """
start            -5   sample reset (every T steps)
start             0   input filter F, q, r; gate
groups         2l-1   I_post = w F_pre for layer l
groups           2l   LIF update of layer l (+ its outgoing filter; output: learning signal)
thresholds     from the top: Lb_pre = w L_post, then L = beta Lb eps   (same-step backprop)
after_thresholds  0/1 Hq, Gr summed; h, g traces
before_synapses   0/1 gA, gB summed to the source; accA, accB
synapses          0   elig, dw, weight update
after_synapses    0   alpha, beta update;  10/11 |dW| record for the schedule
end             0-2   early-stop judge and broadcast
"""
