"""A NIR graph read, checked and reduced to what a simulator needs (no Brian2 here).

:func:`load_graph` reads a ``.nir`` file (HDF5) or takes a ``nir.NIRGraph``; every problem is one
line naming the node and its type.  :func:`plan` reduces the graph to

* **populations**: the nodes with state or a time course (Input, LIF, CubaLIF, IF, LI, CubaLI,
  Integrator ``I``), each flattened to ``n`` elements (C order, so ``Flatten`` is the identity);
* **connections**: for every pair (source population, target population) joined by a chain of
  linear nodes (Affine, Linear, Scale, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d), the product of
  their matrices (``target x source``, scipy.sparse) and the structural pattern (which pairs are
  synapses: dense for Affine/Linear, one-to-one for Scale and for a direct edge, the kernel's reach
  for a convolution or pooling window);
* **delays**: Delay nodes on the way, as a delay per presynaptic neuron of the connection;
* **biases**: each Affine's (convolution's) bias carried through the linear nodes after it, as a
  constant input of the population it reaches;
* **outputs**: each Output node as a sum of linear maps of population signals (plus a bias).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .linear import linear_op
from .nodes import ENDS, LINEAR, NEURONS, SPIKING, SUPPORTED, NirError, flat, unsupported


# ------------------------------------------------------------------------------------ reading
def load_graph(graph_or_path):
    """A ``nir.NIRGraph`` from a graph object or a ``.nir`` file, checked node by node."""
    import nir
    if isinstance(graph_or_path, nir.NIRGraph):
        graph = graph_or_path
        for name, node in graph.nodes.items():
            kind = type(node).__name__
            if kind not in SUPPORTED:
                raise unsupported(name, kind)
        _check_edges(graph.nodes, graph.edges, "graph")
        return graph
    path = os.fspath(graph_or_path)
    if not os.path.isfile(path):
        raise NirError(f"{path}: file not found")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic != b"\x89HDF\r\n\x1a\n":
        raise NirError(f"{path}: not a NIR file (no HDF5 signature: truncated or another format?)")
    import h5py
    from nir.serialization import hdf2dict
    from ..files import FileError, check_hdf5
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise NirError(f"{path}: not a NIR file (no 'node' group)")
            check_hdf5(f, path)
            d = hdf2dict(f["node"])
    except FileError as e:
        raise NirError(str(e)) from None
    except NirError:
        raise
    except Exception as e:            # h5py: truncated file, bad superblock, unreadable dataset, ...
        msg = " ".join(str(e).split()) or type(e).__name__
        raise NirError(f"{path}: unreadable NIR file ({msg})") from None
    if d.get("type") != "NIRGraph" or "nodes" not in d or "edges" not in d:
        raise NirError(f"{path}: the top node is not a NIRGraph with 'nodes' and 'edges'")
    nodes = {name: _node(name, nd, path) for name, nd in d["nodes"].items()}
    edges = [(_str(a), _str(b)) for a, b in np.asarray(d["edges"]).reshape(-1, 2)] if len(d["edges"]) else []
    _check_edges(nodes, edges, path)
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    except Exception as e:
        raise NirError(f"{path}: inconsistent graph ({' '.join(str(e).split())})") from None


def _str(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def _node(name, nd, source):
    import nir
    if not isinstance(nd, dict) or "type" not in nd:
        raise NirError(f"{source}: node {name!r} has no 'type'")
    kind = _str(nd["type"])
    if kind not in SUPPORTED:
        raise unsupported(name, kind)
    need = NEURONS.get(kind) or LINEAR.get(kind) or ENDS[kind]
    for key in need:
        if key not in nd:
            raise NirError(f"{source}: node {name!r} ({kind}): field {key!r} is missing")
    nd = {k: v for k, v in nd.items() if k != "metadata"}
    try:
        if kind in ENDS:
            typ = "input_type" if kind == "Input" else "output_type"
            return getattr(nir, kind)(**{typ: {typ.split("_")[0]: np.asarray(nd["shape"])}})
        return nir.dict2NIRNode(nd)
    except Exception as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise NirError(f"{source}: node {name!r} ({kind}): {msg}") from None


def _check_edges(nodes, edges, source):
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise NirError(f"{source}: edge ({a!r}, {b!r}) names no node {end!r}")


# ------------------------------------------------------------------------------------ the plan
@dataclass
class Population:
    name: str            # NIR node name
    kind: str            # Input, LIF, CubaLIF, IF, LI, CubaLI, I
    n: int
    shape: tuple
    params: dict = field(default_factory=dict)     # flat float arrays of length n
    bias: np.ndarray | None = None                 # constant input (from Affine biases)
    threshold: np.ndarray | None = None            # a Threshold node after this non-spiking node
    scalar: bool = False                           # every parameter one value: size from its input

    @property
    def spiking(self) -> bool:
        return self.kind in SPIKING


@dataclass
class Connection:
    pre: str
    post: str
    weight: object       # scipy.sparse CSR, post x pre
    pattern: object      # scipy.sparse CSR bool, post x pre: which pairs are synapses
    via: tuple           # the linear nodes on the way
    delay: np.ndarray | None = None   # seconds per presynaptic neuron (Delay nodes on the way)
    event: str = "spike"              # "thr": the spikes of a Threshold node after a non-spiking pre

    @property
    def name(self) -> str:
        return f"{self.pre}->{self.post}" if self.event == "spike" else f"{self.pre}>threshold->{self.post}"


@dataclass
class OutputMap:
    name: str
    n: int
    terms: list          # [(population, scipy.sparse matrix out x pre, delay per pre neuron or None, event)]
    bias: np.ndarray


@dataclass
class Plan:
    populations: dict    # name -> Population, in a topological order (inputs first)
    connections: list
    outputs: dict        # Output node name -> OutputMap

    @property
    def max_delay(self) -> float:
        """The longest delay (seconds) of any pathway or output term."""
        ds = [c.delay for c in self.connections] + [t[2] for o in self.outputs.values() for t in o.terms]
        return max([float(d.max()) for d in ds if d is not None and d.size] + [0.0])

    @property
    def inputs(self) -> list:
        return [p for p in self.populations.values() if p.kind == "Input"]


def _shape(node, name, kind):
    t = node.input_type.get("input")
    if t is None:
        raise NirError(f"node {name!r} ({kind}): no shape")
    return tuple(int(v) for v in np.asarray(t).reshape(-1))


MAX_NEURONS = 10_000_000     # per node: a declared size is checked before anything is allocated


def _population(name, node) -> Population:
    kind = type(node).__name__
    if kind == "Input":
        shape = _shape(node, name, kind)
        n = math.prod(shape)
        if n > MAX_NEURONS:
            raise NirError(f"node {name!r} ({kind}): {n:,} inputs declared, more than {MAX_NEURONS:,} per node")
        return Population(name, kind, n, shape)
    keys = NEURONS[kind] + {"LIF": ("v_reset",), "CubaLIF": ("v_reset", "w_in"), "IF": ("v_reset",),
                            "CubaLI": ("w_in",)}.get(kind, ())
    sizes = [np.asarray(getattr(node, k)).size for k in keys]
    first = np.asarray(getattr(node, keys[int(np.argmax(sizes))]))
    shape = tuple(first.shape) or (1,)
    n = int(np.prod(shape))
    params = {k: flat(getattr(node, k), n, name, kind, k) for k in keys}
    return Population(name, kind, n, shape, params, scalar=max(sizes) == 1)


def _resolve_scalar(pops, nodes, edges):
    """A neuron node whose parameters are all single values (Norse writes a layer's parameters so)
    stands for as many neurons as reach it: its size is taken from what feeds it."""
    todo = [k for k, p in pops.items() if p.scalar and p.kind != "Input"]
    preds = {k: [] for k in nodes}
    for a, b in edges:
        preds[b].append(a)

    def out_shape(name, depth):
        if name in pops:
            return None if name in todo else pops[name].shape
        kind = type(nodes[name]).__name__
        if kind not in LINEAR or depth > len(nodes):
            return None
        for a in preds[name]:
            s = out_shape(a, depth + 1)
            if s is not None:
                return s if kind in ("Delay", "Threshold") else linear_op(name, nodes[name], s)[3]
        return None

    while todo:
        progress = False
        for k in list(todo):
            found = [s for s in (out_shape(a, 0) for a in preds[k]) if s is not None]
            if found:
                p = pops[k]
                p.shape, p.n = tuple(found[0]), int(np.prod(found[0]))
                p.params = {key: flat(v[:1], p.n, k, p.kind, key) for key, v in p.params.items()}
                todo.remove(k)
                progress = True
        if not progress:
            break


def plan(graph) -> Plan:
    """Reduce a checked graph to populations, composed connections and outputs."""
    from scipy import sparse
    nodes, edges = graph.nodes, list(graph.edges)
    out_edges = {k: [] for k in nodes}
    for a, b in edges:
        out_edges[a].append(b)
    pops = {}
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise unsupported(name, kind)
        if kind in NEURONS or kind == "Input":
            pops[name] = _population(name, node)
    if not any(p.kind == "Input" for p in pops.values()):
        raise NirError("graph has no Input node")
    if any(p.scalar for p in pops.values()):
        _resolve_scalar(pops, nodes, edges)
    outputs = {name: OutputMap(name, 0, [], None) for name, node in nodes.items()
               if type(node).__name__ == "Output"}
    if not outputs:
        raise NirError("graph has no Output node")

    # every linear node's operator, for the shape that reaches it
    ops, seen_shape = {}, {}

    def shapes(here, shape, depth):
        if depth > len(nodes):
            raise NirError(f"node {here!r}: a cycle of linear nodes (no neuron in the loop)")
        for nxt in out_edges[here]:
            kind = type(nodes[nxt]).__name__
            if nxt in pops or kind == "Output":
                continue
            if nxt in seen_shape:
                if int(np.prod(seen_shape[nxt])) != int(np.prod(shape)):
                    raise NirError(f"node {nxt!r} ({kind}): inputs of {int(np.prod(seen_shape[nxt]))} and "
                                   f"{int(np.prod(shape))} values")
                continue
            seen_shape[nxt] = tuple(shape)
            try:
                ops[nxt] = linear_op(nxt, nodes[nxt], shape)
            except NirError as e:      # name where the values come from: the fault may be that node's
                src = nodes[here]
                what = f"{type(src).__name__} of {int(np.prod(shape))} neurons" if here in pops else \
                    f"{type(src).__name__}, {int(np.prod(shape))} values"
                raise NirError(f"{e} from node {here!r} ({what})") from None
            shapes(nxt, ops[nxt][3], depth + 1)

    for name, p in pops.items():
        shapes(name, p.shape, 0)
    conns = {}

    def walk(src, here, M, P, via, D, ident, ev):
        """Follow the edges out of ``here``; M, P map the source's n values to ``here``'s output, D is
        the delay so far per source neuron (None: none), ``ident``: M is still the identity, ``ev``:
        "thr" after a Threshold node (the source's threshold events), else "spike"."""
        for nxt in out_edges[here]:
            node = nodes[nxt]
            kind = type(node).__name__
            if nxt in pops:
                tgt = pops[nxt]
                if kind == "Input":
                    raise NirError(f"node {nxt!r} (Input): has an incoming edge from {here!r}")
                if M.shape[0] != tgt.n:
                    raise NirError(f"edge ({here!r}, {nxt!r}): {M.shape[0]} values into node {nxt!r} "
                                   f"({kind}) of {tgt.n} neurons")
                key = (src, nxt, ev)
                if key in conns:
                    c = conns[key]
                    if not _same_delay(c.delay, D):
                        raise NirError(f"nodes {src!r} -> {nxt!r}: two paths with different delays (not "
                                       "supported: one synapse per pair)")
                    c.weight = (c.weight + M).tocsr()
                    c.pattern = (c.pattern + P).astype(bool).tocsr()
                    c.via = c.via + via
                else:
                    conns[key] = Connection(src, nxt, M.tocsr(), P.astype(bool).tocsr(), via, D, ev)
            elif kind == "Output":
                outputs[nxt].terms.append((src, M.tocsr(), D, ev))
            elif kind == "Delay":
                d = flat(node.delay, M.shape[0], nxt, kind, "delay")
                if not ident and np.ptp(d) > 0:
                    raise NirError(f"node {nxt!r} (Delay): delays that differ per element are supported only "
                                   "right after a neuron or Input node (here they follow a linear map)")
                d = d if ident else np.full(pops[src].n, d[0] if d.size else 0.0)
                walk(src, nxt, M, P, via + (nxt,), d if D is None else D + d, ident, ev)
            elif kind == "Threshold":
                p = pops[src]
                if not ident or ev != "spike" or p.kind == "Input" or p.spiking:
                    raise NirError(f"node {nxt!r} (Threshold): supported only right after a non-spiking neuron "
                                   f"node (LI, CubaLI, I), here after {src!r} ({p.kind})"
                                   + ("" if ident else " and a linear map"))
                thr = flat(node.threshold, p.n, nxt, kind, "threshold")
                if p.threshold is not None and not np.array_equal(p.threshold, thr):
                    raise NirError(f"node {nxt!r} (Threshold): node {src!r} already has another threshold")
                p.threshold = thr
                walk(src, nxt, M, P, via + (nxt,), D, ident, "thr")
            else:
                W, Q, _, _ = ops[nxt]
                if W is None:
                    walk(src, nxt, M, P, via + (nxt,), D, ident, ev)
                else:
                    walk(src, nxt, W @ M, (Q.astype(np.int64) @ P.astype(np.int64)).astype(bool),
                         via + (nxt,), D, False, ev)

    for name, p in pops.items():
        walk(name, name, sparse.identity(p.n, format="csr"), sparse.identity(p.n, dtype=bool, format="csr"),
             (), None, True, "spike")

    # biases: each Affine's (or convolution's) bias, carried through the linear nodes after it
    def carry(here, b):
        for nxt in out_edges[here]:
            kind = type(nodes[nxt]).__name__
            if nxt in pops:
                tgt = pops[nxt]
                tgt.bias = b.copy() if tgt.bias is None else tgt.bias + b
            elif kind == "Output":
                o = outputs[nxt]
                o.bias = b.copy() if o.bias is None else o.bias + b
            else:
                W = ops[nxt][0]
                carry(nxt, b if W is None else W @ b)

    for name, op in ops.items():
        if op[2] is not None:
            carry(name, op[2])

    for o in outputs.values():
        sizes = {t[1].shape[0] for t in o.terms} | ({o.bias.size} if o.bias is not None else set())
        if not sizes:
            raise NirError(f"node {o.name!r} (Output): nothing reaches it")
        if len(sizes) > 1:
            raise NirError(f"node {o.name!r} (Output): inputs of different sizes {sorted(sizes)}")
        o.n = sizes.pop()
        if o.bias is None:
            o.bias = np.zeros(o.n)
    order = _topological(pops, conns)
    return Plan({k: pops[k] for k in order}, list(conns.values()), outputs)


def _same_delay(a, b) -> bool:
    za = a is None or not np.any(a)
    zb = b is None or not np.any(b)
    return (za and zb) or (a is not None and b is not None and np.array_equal(a, b))


def _topological(pops, conns) -> list:
    """Populations so that every feed-forward connection goes from earlier to later (inputs first,
    then by depth); the edges that close a loop go backwards and act one step later."""
    succ = {k: [] for k in pops}
    for (a, b, _) in conns:
        succ[a].append(b)
    order, state = [], {}

    def visit(k):                     # depth-first post-order, reversed = topological order
        state[k] = 1
        for m in succ[k]:
            if state.get(m) is None:
                visit(m)
        state[k] = 2
        order.append(k)

    roots = [k for k, p in pops.items() if p.kind == "Input"] + [k for k, p in pops.items() if p.kind != "Input"]
    for k in roots:
        if state.get(k) is None:
            visit(k)
    order.reverse()
    inputs = [k for k in order if pops[k].kind == "Input"]
    return inputs + [k for k in order if pops[k].kind != "Input"]


def check_dt(dt_s: float) -> float:
    """``dt`` in seconds, finite and > 0 (any size: the integration is exact for inputs held over a
    step, so a coarse dt changes what the input means, not the accuracy)."""
    if not isinstance(dt_s, (int, float)) or not math.isfinite(dt_s) or dt_s <= 0:
        raise NirError(f"dt must be a finite time > 0 in seconds, got {dt_s!r}")
    return float(dt_s)
