"""The linear NIR nodes as sparse matrices on flat (C-order) vectors: Affine, Linear, Scale, Flatten,
Conv1d, Conv2d (PyTorch's cross-correlation: stride, padding, dilation, groups), Sum/AvgPool2d, and
Delay (the identity here: its delay becomes a synaptic delay in the plan)."""
from __future__ import annotations

import numpy as np

from .nodes import NirError, flat, unsupported


def _pair(v, k, name, kind, key):
    """An int or string parameter of a convolution as a k-tuple of ints."""
    a = np.asarray(v).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, k)
    if a.size != k or not np.all(np.isfinite(a.astype(float))) or np.any(a.astype(float) != np.round(a.astype(float))):
        raise NirError(f"node {name!r} ({kind}): field {key!r} must be {k} integers, got {v!r}")
    return tuple(int(x) for x in a)


def _window(name, kind, in_sp, ksize, stride, padding, dilation):
    """(output spatial shape, left padding per dimension) of a convolution or pooling window."""
    k = len(in_sp)
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding == "valid":
            pad = (0,) * k
            total = (0,) * k
        elif padding == "same":
            total = tuple(d * (q - 1) for d, q in zip(dilation, ksize))
            pad = tuple(t // 2 for t in total)
        else:
            raise NirError(f"node {name!r} ({kind}): padding must be 'same', 'valid' or integers, got {padding!r}")
    else:
        pad = _pair(padding, k, name, kind, "padding")
        total = tuple(2 * q for q in pad)
    if min(stride) < 1 or min(dilation) < 1 or min(ksize) < 1 or min(pad) < 0:
        raise NirError(f"node {name!r} ({kind}): kernel, stride and dilation must be >= 1, padding >= 0")
    out = tuple((s + t - d * (q - 1) - 1) // st + 1
                for s, t, d, q, st in zip(in_sp, total, dilation, ksize, stride))
    if min(out) < 1:
        raise NirError(f"node {name!r} ({kind}): the kernel does not fit the input {in_sp}")
    return out, pad


def _unroll(W, in_sp, out_sp, stride, pad, dilation, groups, c_in):
    """The sparse matrix (C_out*prod(out) x C_in*prod(in)) of a (grouped) cross-correlation, C order."""
    from scipy import sparse
    c_out, cpg = W.shape[0], W.shape[1]
    n_in, n_out = int(np.prod(in_sp)), int(np.prod(out_sp))
    grid = np.indices(out_sp).reshape(len(out_sp), -1)             # output positions
    rows, cols, vals = [], [], []
    for co in range(c_out):
        g = co // (c_out // groups)
        for cg in range(cpg):
            ci = g * cpg + cg
            for k in np.ndindex(*W.shape[2:]):
                x = grid * np.array(stride)[:, None] - np.array(pad)[:, None] + \
                    (np.array(k) * np.array(dilation))[:, None]
                ok = np.all((x >= 0) & (x < np.array(in_sp)[:, None]), axis=0)
                rows.append(co * n_out + np.nonzero(ok)[0])
                cols.append(ci * n_in + np.ravel_multi_index(tuple(x[:, ok]), in_sp))
                vals.append(np.full(int(ok.sum()), W[(co, cg) + k]))
    r, c, v = (np.concatenate(a) for a in (rows, cols, vals))
    M = sparse.csr_matrix((v, (r, c)), shape=(c_out * n_out, c_in * n_in))
    P = sparse.csr_matrix((np.ones(len(r), bool), (r, c)), shape=M.shape)   # zeros of W stay synapses
    return M, P


def linear_op(name, node, shape):
    """(matrix out x in, pattern, bias or None, output shape) of a linear node whose input has ``shape``;
    matrices are scipy.sparse (CSR).  Flatten returns None matrices: the identity on the flat vector."""
    from scipy import sparse
    kind = type(node).__name__
    n_in = int(np.prod(shape))
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight, dtype=float)
        if w.ndim != 2:
            raise NirError(f"node {name!r} ({kind}): weight must be 2-D (out x in), got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise NirError(f"node {name!r} ({kind}): weight has NaN or infinite values")
        if w.shape[1] != n_in:
            raise NirError(f"node {name!r} ({kind}): weight takes {w.shape[1]} inputs, gets {n_in}")
        bias = flat(node.bias, w.shape[0], name, kind, "bias") if kind == "Affine" else None
        return sparse.csr_matrix(w), sparse.csr_matrix(np.ones(w.shape, bool)), bias, (w.shape[0],)
    if kind == "Scale":
        s = flat(node.scale, n_in, name, kind, "scale")
        return sparse.diags(s, format="csr"), sparse.identity(n_in, dtype=bool, format="csr"), None, tuple(shape)
    if kind == "Flatten":
        t = node.input_type.get("input")
        if t is not None and int(np.prod(t)) != n_in:
            raise NirError(f"node {name!r} ({kind}): flattens {int(np.prod(t))} values, gets {n_in}")
        return None, None, None, (n_in,)
    if kind == "Delay":               # the identity on values; the plan turns the delay into synaptic delays
        flat(node.delay, n_in, name, kind, "delay")
        return None, None, None, tuple(shape)
    if kind == "Threshold":           # not linear: the plan makes it an event of the node before it
        flat(node.threshold, n_in, name, kind, "threshold")
        return None, None, None, tuple(shape)
    if kind in ("Conv1d", "Conv2d"):
        k = 1 if kind == "Conv1d" else 2
        W = np.asarray(node.weight, dtype=float)
        if W.ndim != k + 2 or not np.all(np.isfinite(W)):
            raise NirError(f"node {name!r} ({kind}): weight must be finite, of shape (C_out, C_in/groups, "
                           f"{'N' if k == 1 else 'H, W'}), got {W.shape}")
        groups = int(node.groups)
        c_in = W.shape[1] * groups
        if groups < 1 or W.shape[0] % groups or n_in % c_in or \
                (len(shape) == k + 1 and shape[0] != c_in):
            raise NirError(f"node {name!r} ({kind}): weight {W.shape} with groups {groups} does not take "
                           f"an input of shape {tuple(shape)}")
        if len(shape) == k + 1:
            in_sp = tuple(shape[1:])
        elif node.input_shape is not None:
            in_sp = _pair(node.input_shape, k, name, kind, "input_shape")
        elif k == 1:
            in_sp = (n_in // c_in,)
        else:
            raise NirError(f"node {name!r} ({kind}): input_shape is missing and the input is flat")
        if c_in * int(np.prod(in_sp)) != n_in:
            raise NirError(f"node {name!r} ({kind}): input of {n_in} values is not {c_in} x {in_sp}")
        stride = _pair(node.stride, k, name, kind, "stride")
        dilation = _pair(node.dilation, k, name, kind, "dilation")
        out_sp, pad = _window(name, kind, in_sp, W.shape[2:], stride, node.padding, dilation)
        M, P = _unroll(W, in_sp, out_sp, stride, pad, dilation, groups, c_in)
        b = np.asarray(node.bias, dtype=float).reshape(-1)
        if b.size not in (1, W.shape[0]) or not np.all(np.isfinite(b)):
            raise NirError(f"node {name!r} ({kind}): bias must be {W.shape[0]} finite values")
        bias = np.repeat(np.broadcast_to(b, (W.shape[0],)), int(np.prod(out_sp)))
        return M, P, (bias if np.any(bias) else None), (W.shape[0], *out_sp)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(shape) != 3:
            raise NirError(f"node {name!r} ({kind}): needs an input of shape (C, H, W), got {tuple(shape)}")
        ks = _pair(node.kernel_size, 2, name, kind, "kernel_size")
        stride = _pair(node.stride, 2, name, kind, "stride")
        out_sp, pad = _window(name, kind, shape[1:], ks, stride, node.padding, (1, 1))
        C = shape[0]
        W = np.zeros((C, 1) + ks)
        W[:] = 1.0 / (ks[0] * ks[1]) if kind == "AvgPool2d" else 1.0
        M, P = _unroll(W, tuple(shape[1:]), out_sp, stride, pad, (1, 1), C, C)
        return M, P, None, (C, *out_sp)
    raise unsupported(name, kind)
