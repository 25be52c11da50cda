"""Write the NIR framework fixtures in tests/data/nir_frameworks/: small networks (20-50-5) built and run
in snnTorch and Norse, exported with each framework's own NIR exporter, with the Bernoulli input they
were run on and the output spikes the framework produced.

    python3 -m venv /tmp/fw && /tmp/fw/bin/pip install torch snntorch==1.0.0 norse==1.1.0 nir
    /tmp/fw/bin/python benchmarks/nir_framework_fixtures.py [--out tests/data/nir_frameworks]

This script needs torch, snnTorch and Norse (it is not run by the tests); tests/test_nir_frameworks.py
reads what it writes and needs neither.  Each fixture is ``NAME.nir`` (the graph as the exporter wrote
it) and ``NAME.npz``: ``input`` [samples, T, 20] (0/1), ``output`` [samples, T, 5] (the framework's
output-layer spikes), ``dt`` (the time step the exporter assumes: snnTorch 1e-4 s, Norse its ``dt``),
``semantics`` and ``reset`` (the ``brian-snn nir run`` options that reproduce it), ``framework``
(name and version).  For Norse 1.1.0, whose exporter writes ``tau = dt / tau_mem_inv`` (= dt*tau, an
upstream bug), ``NAME-fixed.nir`` is the same graph with ``tau = 1/tau_mem_inv`` (the framework's
actual time constants); the spikes are the same network's.

Networks run in float32, as the frameworks run by default.
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_IN, N_HID, N_OUT = 20, 50, 5
SAMPLES, STEPS, P_IN = 4, 60, 0.25


def _inputs(seed):
    rng = np.random.default_rng(seed)
    return (rng.random((SAMPLES, STEPS, N_IN)) < P_IN).astype(np.float64)


def _linear(torch, n_in, n_out, gain, shift, seed, bias=True):
    g = torch.Generator().manual_seed(seed)
    lin = torch.nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        lin.weight.copy_(gain * (torch.rand(n_out, n_in, generator=g) - 0.5 + shift))
        if bias:
            lin.bias.copy_(0.05 * (torch.rand(n_out, generator=g) - 0.5))
    return lin


# ------------------------------------------------------------------------------------ snnTorch
def snntorch_nets(torch):
    import snntorch as snn

    def leaky(n, reset, beta):
        return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n),
                         init_hidden=True, reset_mechanism=reset)

    def synaptic(n, reset, alpha, beta):
        return snn.Synaptic(alpha=torch.full((n,), alpha),
                            beta=torch.full((n,), beta),
                            threshold=torch.ones(n), init_hidden=True, reset_mechanism=reset)

    nets = {}
    for reset in ("subtract", "zero"):
        nets[f"snntorch-leaky-{reset}"] = (torch.nn.Sequential(
            _linear(torch, N_IN, N_HID, 0.6, 0.08, 1), leaky(N_HID, reset, 0.9),
            _linear(torch, N_HID, N_OUT, 0.4, 0.08, 2), leaky(N_OUT, reset, 0.9)), reset)
    for reset in ("subtract", "zero"):
        nets[f"snntorch-synaptic-{reset}"] = (torch.nn.Sequential(
            _linear(torch, N_IN, N_HID, 0.12, 0.08, 3), synaptic(N_HID, reset, 0.8, 0.9),
            _linear(torch, N_HID, N_OUT, 0.08, 0.08, 4), synaptic(N_OUT, reset, 0.8, 0.9)), reset)
    rl = snn.RLeaky(beta=torch.full((N_HID,), 0.9), threshold=torch.ones(N_HID),
                    linear_features=N_HID, init_hidden=True)
    rl.recurrent = _linear(torch, N_HID, N_HID, 0.2, 0.0, 5)
    nets["snntorch-rleaky-subtract"] = (torch.nn.Sequential(
        _linear(torch, N_IN, N_HID, 0.6, 0.08, 6), rl,
        _linear(torch, N_HID, N_OUT, 0.4, 0.08, 7), leaky(N_OUT, "subtract", 0.9)), "subtract")
    return nets


def run_snntorch(torch, net, x):
    from snntorch import utils
    utils.reset(net)
    out = []
    with torch.no_grad():
        xs = torch.from_numpy(x.astype(np.float32))
        for t in range(x.shape[1]):
            out.append(net(xs[:, t]).numpy().copy())
    utils.reset(net)
    return np.stack(out, axis=1)


# ------------------------------------------------------------------------------------ Norse
def norse_nets(torch):
    import norse.torch as nt
    box = lambda: nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=torch.tensor(1 / 10e-3),
                                                    v_th=torch.tensor(1.0), v_leak=torch.tensor(0.0),
                                                    v_reset=torch.tensor(0.0)))
    cell = lambda: nt.LIFCell(nt.LIFParameters(tau_syn_inv=torch.tensor(1 / 5e-3),
                                               tau_mem_inv=torch.tensor(1 / 10e-3),
                                               v_th=torch.tensor(1.0), v_leak=torch.tensor(0.0),
                                               v_reset=torch.tensor(0.0)))
    return {
        "norse-lifbox": nt.SequentialState(_linear(torch, N_IN, N_HID, 6.0, 0.08, 11), box(),
                                           _linear(torch, N_HID, N_OUT, 4.0, 0.08, 12), box()),
        "norse-lifcell": nt.SequentialState(_linear(torch, N_IN, N_HID, 1.2, 0.08, 13), cell(),
                                            _linear(torch, N_HID, N_OUT, 0.8, 0.08, 14), cell()),
    }


def run_norse(torch, net, x):
    out, state = [], None
    with torch.no_grad():
        xs = torch.from_numpy(x.astype(np.float32))
        for t in range(x.shape[1]):
            z, state = net(xs[:, t], state)
            out.append(z.numpy().copy())
    return np.stack(out, axis=1)


def fix_norse_tau(graph, dt):
    """Norse 1.1.0 writes tau = dt/tau_inv (= dt*tau); the framework's tau is tau_file/dt."""
    import nir
    g = copy.deepcopy(graph)
    for node in g.nodes.values():
        for key in ("tau", "tau_mem", "tau_syn"):
            if isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI, nir.CubaLI)) and hasattr(node, key):
                setattr(node, key, np.asarray(getattr(node, key), dtype=float) / dt)
    return g


def numpyfy(graph):
    """Every node field as a numpy array (Norse's exporter leaves torch tensors in the graph), a 0-d
    one as shape (1,) (``nir.write`` cannot store 0-d arrays: Norse's scalar neuron parameters arrive
    as one value for the whole layer, which the importer broadcasts to the layer's size)."""
    for node in graph.nodes.values():
        for k, v in list(vars(node).items()):
            if hasattr(v, "detach"):
                v = v.detach().cpu().numpy()
                setattr(node, k, v)
            if isinstance(v, np.ndarray) and v.ndim == 0 and k not in ("input_type", "output_type"):
                setattr(node, k, v.reshape(1))
    return graph


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "nir_frameworks"))
    args = ap.parse_args(argv)
    import nir
    import norse
    import snntorch
    import torch
    from norse.torch.utils.export_nir import to_nir
    from snntorch.export_nir import export_to_nir
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {}

    def save(name, graph, x, y, dt, semantics, reset, framework):
        nir.write(str(out / f"{name}.nir"), graph)
        np.savez_compressed(out / f"{name}.npz", input=x.astype(np.uint8), output=y.astype(np.uint8), dt=dt,
                            semantics=semantics, reset=reset, framework=framework)
        summary[name] = dict(framework=framework, dt=dt, semantics=semantics, reset=reset,
                             output_spikes=int(y.sum()), output_rate=round(float(y.mean()), 4))

    for k, (name, (net, reset)) in enumerate(snntorch_nets(torch).items()):
        x = _inputs(100 + k)
        y = run_snntorch(torch, net, x)
        graph = export_to_nir(net, torch.zeros(N_IN))
        save(name, numpyfy(graph), x, y, 1e-4, "snntorch", reset, f"snntorch {snntorch.__version__}")
    dt = 1e-3
    for k, (name, net) in enumerate(norse_nets(torch).items()):
        x = _inputs(200 + k)
        y = run_norse(torch, net, x)
        graph = numpyfy(to_nir(net, torch.zeros(N_IN), dt=dt))
        save(name, graph, x, y, dt, "norse", "value", f"norse {norse.__version__}")
        nir.write(str(out / f"{name}-fixed.nir"), fix_norse_tau(graph, dt))
    (out / "fixtures.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
