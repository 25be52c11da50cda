"""Code-object templates of our own for the C++ standalone builds (issue 28, docs/performance.md).

Brian2 lets a code runner name its code-object class and template; ours derive Brian2's
cpp_standalone templates (``brian_snn/cpp/templates``) and change only the order or the number of
loop iterations where the result is provably the same bits:

* ``synapses_memory_order``: a synaptic pathway whose events reach all of its synapses in one step
  (Diehl & Cook's normalisation: every neuron's 784 input weights at a sample boundary) walks the
  synapses in memory order instead of queue order (784 weights with a stride of 400, neuron after
  neuron).  Installed only where each synapse's update is independent of the others'
  (:func:`order_free_pathway`).

:func:`install` sets them on a network's objects before its code objects are generated."""
import ast
import re

from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

MEMORY_ORDER = "synapses_memory_order"

# Functions a pathway's code may call and stay order-free: deterministic, no state.
_PURE = {"int", "clip", "exp", "log", "sqrt", "abs", "floor", "ceil", "sign", "minimum", "maximum",
         "sin", "cos", "tanh"}


class OwnTemplatesCodeObject(CPPStandaloneCodeObject):
    """Brian2's cpp_standalone code object; its templater finds our templates first, then Brian2's."""
    templater = CPPStandaloneCodeObject.templater.derive("brian_snn", templates_dir="cpp/templates")


def _statements(code):
    out = []
    for line in code.strip().split("\n"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(\w+)\s*(\+=|-=|\*=|/=|=)\s*(.+)", line)
        if not m:
            return None
        out.append(m.groups())
    return out


def _calls_and_names(expr):
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None, None
    calls = {n.func.id if isinstance(n.func, ast.Name) else None
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls
    return calls, names


_COUNT = re.compile(r"(\w+_(?:pre|post))\s*\*\s*int\((.+)\)")


def order_free_pathway(pathway) -> bool:
    """Does every order of ``pathway``'s synapses give the same bits?  True when its code calls
    only deterministic functions (no ``rand()``) and writes only (a) the synapse's own variables or
    local values and (b) pre/post variables by ``x_post += c_post * int(<condition>)`` alone, where
    ``c_post`` is not written by the code and ``x_post`` appears nowhere else: each such addend is 0
    or the same value for all of the neuron's synapses, so the sum has the same bits in any order.
    Diehl & Cook's normalisation (the weight, and the change count) passes; a pathway that adds
    weight changes into ``wsum_post`` (float sums, order-sensitive) or draws random numbers
    (quantised weights) does not."""
    syn = pathway.synapses
    stmts = _statements(pathway.code or "")
    if not stmts:
        return False
    targets = [t for t, _, _ in stmts]
    for target, op, expr in stmts:
        calls, names = _calls_and_names(expr)
        if calls is None or not calls <= _PURE:
            return False
        if target not in syn.variables:
            continue                          # a local value (w_new)
        var, index = syn.variables[target], syn.variables.indices[target]
        if index == "_idx" and not var.scalar:
            continue                          # the synapse's own variable
        if index not in ("_presynaptic_idx", "_postsynaptic_idx") or var.scalar:
            return False
        # a neuron's variable: only a count, x_post += c_post * int(...)
        m = _COUNT.fullmatch(expr.strip())
        if op != "+=" or not m or targets.count(target) != 1:
            return False
        factor = m.group(1)
        if (factor in targets or factor not in syn.variables or syn.variables.indices[factor] != index
                or any(target in (_calls_and_names(e)[1] or ()) for _, _, e in stmts)):
            return False
    return True


def install(objects) -> list:
    """Give the code runners of ``objects`` (a network's) our templates where they apply; returns
    the names of the code runners changed.  Call before the network's code objects are generated
    (its first ``run``), on the cpp_standalone device, without OpenMP."""
    from brian2 import Synapses
    changed = []
    for obj in objects:
        if isinstance(obj, Synapses):
            for pathway in obj._pathways:
                if pathway.template == "synapses" and order_free_pathway(pathway):
                    pathway.codeobj_class, pathway.template = OwnTemplatesCodeObject, MEMORY_ORDER
                    changed.append(pathway.name)
    return changed
