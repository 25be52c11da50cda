"""Code-object templates of our own for the C++ standalone builds (issue 28, docs/performance.md).

Brian2 lets a code runner name its code-object class and template; ours derive Brian2's
cpp_standalone templates (``brian_snn/cpp/templates``) and change only the order or the number of
loop iterations where the result is provably the same bits:

* ``synapses_memory_order``: a synaptic pathway whose events reach all of its synapses in one step
  (Diehl & Cook's normalisation: every neuron's 784 input weights at a sample boundary) walks the
  synapses in memory order instead of queue order (784 weights with a stride of 400, neuron after
  neuron).  Installed only where each synapse's update is independent of the others'
  (:func:`order_free_pathway`).
* ``threshold_guarded``: a condition whose leading conjuncts read only shared variables and linked
  variables (``plastic > 0.5 and boundary > 0.5``; the input's ``on > 0.5``) tests them once per
  step when all neurons read the same linked element, and skips the per-neuron loop when they are
  false (:func:`threshold_guard`).
* ``threshold_two_pass``: a condition that calls no random-number or other stateful function
  (a neuron's ``v > v_thresh + theta``) is evaluated for every neuron first, in a loop GCC
  vectorises, and the events are then collected from those values (:func:`deterministic_condition`).
* ``synapses_dense_rows``: a pure transmission ``target_post += w`` over all-to-all synapses
  with one delay (SpikeDyn's input pathway) adds each spike's whole row of weights in one
  vectorised loop, the rows in queue order (:func:`dense_transmission`).
* ``synapses_frozen_transmit``: a pathway whose model declared that, while a shared learning flag
  is 0, its code changes nothing but one transmission ``target_post += w`` (Diehl & Cook's and
  ASP's depression at input spikes), or nothing at all (the potentiation at a neuron's spikes),
  runs that addition alone, or nothing, in frozen passes (labelling, testing), in the same queue
  order (:func:`declare_frozen_transmission`, :func:`frozen_transmission`).

:func:`install` sets them on a network's objects before its code objects are generated."""
import ast
import functools
import math
import re

import numpy as np

from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

MEMORY_ORDER = "synapses_memory_order"
GUARDED = "threshold_guarded"
TWO_PASS = "threshold_two_pass"
FROZEN = "synapses_frozen_transmit"
DENSE = "synapses_dense_rows"
_DECLARED = "_brian_snn_frozen_transmission"

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


def _simple_conjunct(node, group):
    """The variable names of ``node`` if it is ``name``, ``name <op> number`` or ``number <op> name``
    with ``name`` a shared or linked variable of ``group``; else None."""
    def var_name(n):
        return n.id if isinstance(n, ast.Name) else None

    def number(n):
        return isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)

    if isinstance(node, ast.Name):
        names = [node.id]
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        if var_name(left) and number(right):
            names = [left.id]
        elif number(left) and var_name(right):
            names = [right.id]
        else:
            return None
    else:
        return None
    from brian2.core.variables import ArrayVariable
    for name in names:
        var = group.variables.get(name)
        if not isinstance(var, ArrayVariable):
            return None
        index = group.variables.indices.get(name, "_idx")
        if var.scalar:
            continue
        if index in ("_idx", "0") or not isinstance(group.variables.get(index), ArrayVariable):
            return None
    return names


def threshold_guard(thresholder):
    """For a thresholder (no refractoriness) whose condition starts with conjuncts of shared and
    linked variables: ``{"text", "cpp", "names", "linked"}`` for the template; else None."""
    from brian2.parsing.rendering import CPPNodeRenderer
    if thresholder.template != "threshold" or thresholder.template_kwds.get("_uses_refractory", True):
        return None
    group = thresholder.group
    cond = group.events.get(thresholder.event)
    if not isinstance(cond, str):
        return None
    try:
        tree = ast.parse(cond.strip(), mode="eval").body
    except SyntaxError:
        return None
    parts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    guard, names = [], []
    for part in parts:
        found = _simple_conjunct(part, group)
        if found is None:
            break
        guard.append(ast.unparse(part))
        names += [n for n in found if n not in names]
    linked = [n for n in names if not group.variables[n].scalar]
    if not guard or not linked:          # shared-only conditions: Brian2 already hoists them
        return None
    prefilter = []
    for part in parts[len(guard):-1]:    # a last conjunct is the loop's own test: nothing to skip
        found = _own_bound(part, group)
        if found is None:
            break
        prefilter.append(found)
    text = " and ".join(guard)
    return {"text": text, "cpp": CPPNodeRenderer().render_expr(text), "names": names, "linked": linked,
            "prefilter": " && ".join(f"({name} {op} {value!r})" for name, op, value in prefilter),
            "prefilter_names": sorted({name for name, _, _ in prefilter}),
            "prefilter_text": " and ".join(ast.unparse(p) for p in parts[len(guard):len(guard) + len(prefilter)])}


_CMP = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _own_bound(node, group):
    """``(name, op, value)`` if ``node`` is ``name <op> constant`` with ``name`` a per-neuron
    floating-point variable of ``group`` (not linked, not shared) and the constant a number or a
    quantity (``0*Hz``), ``value`` its SI value as the generated code holds it; else None."""
    import brian2
    from brian2.core.variables import ArrayVariable
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP
            and isinstance(node.left, ast.Name)):
        return None
    var = group.variables.get(node.left.id)
    if (not isinstance(var, ArrayVariable) or var.scalar or np.dtype(var.dtype).kind != "f"
            or group.variables.indices.get(node.left.id, "_idx") != "_idx"):
        return None
    try:                                 # (Brian2 has checked the units)
        value = float(brian2.Quantity(eval(compile(ast.Expression(node.comparators[0]), "<bound>", "eval"),
                                           {"__builtins__": {}}, vars(brian2.units))))
    except Exception:                    # a variable, a function call, a malformed constant
        return None
    return (node.left.id, _CMP[type(node.ops[0])], value) if math.isfinite(value) else None


def deterministic_condition(thresholder) -> bool:
    """Does ``thresholder``'s condition call only deterministic functions (:data:`_PURE`), also
    through the subexpressions it reads, and read the refractoriness variables the events write
    (``not_refractory``, ``lastspike``) only as the neuron's own?  Then evaluating it for all
    neurons before any event is written changes nothing: Brian2's loop writes them only for the
    neuron just tested."""
    from brian2.core.variables import Subexpression
    if thresholder.template != "threshold":
        return False
    group = thresholder.group
    pending, seen = [group.events.get(thresholder.event)], set()
    while pending:
        expr = pending.pop()
        if not isinstance(expr, str):
            return False
        calls, names = _calls_and_names(expr.strip())
        if calls is None or not calls <= _PURE:
            return False
        for name in names - seen:
            seen.add(name)
            var = group.variables.get(name)
            if isinstance(var, Subexpression):
                pending.append(var.expr)
            elif (getattr(var, "name", None) in ("not_refractory", "lastspike")
                  and group.variables.indices.get(name, "_idx") != "_idx"):
                return False             # another neuron's: its event may come first
    return True


def declare_frozen_transmission(pathway, flag: str, target: str | None = None, weight: str | None = None):
    """The model's word that, while the shared ``flag`` is 0, ``pathway``'s code leaves every
    variable as it is except ``target += weight`` (its first statement), or every variable when
    there is no ``target``; checked by :func:`frozen_transmission`, relied on by the template."""
    setattr(pathway, _DECLARED, (flag, target, weight))


def frozen_transmission(pathway):
    """``{"flag", "target", "post", "weight"}`` (C++ expressions; no target: the frozen pass skips
    the pathway) for a pathway declared by :func:`declare_frozen_transmission` whose code names
    the shared flag and starts with the declared transmission, its target a postsynaptic array
    written only there and its weight a per-synapse one; else None."""
    declared = getattr(pathway, _DECLARED, None)
    stmts = _statements(pathway.code or "")
    if not declared or not stmts:
        return None
    flag, target, weight = declared
    v = pathway.synapses.variables
    names = set().union(*(_calls_and_names(e)[1] or set() for _, _, e in stmts))
    if flag not in names or flag not in v or not v[flag].scalar:
        return None
    ptr = functools.partial(_ptr, pathway.synapses)
    if target is None:
        return {"flag": ptr(flag) + "[0]", "target": None}
    if (stmts[0] != (target, "+=", weight) or [t for t, _, _ in stmts].count(target) != 1 or target in names
            or not _adds_weight_to_target(v, target, weight)):
        return None
    return {"flag": ptr(flag) + "[0]", "target": ptr(target), "post": ptr("_synaptic_post"), "weight": ptr(weight)}


def _adds_weight_to_target(v, target, weight) -> bool:
    """Is ``target += weight`` a transmission: ``target`` a postsynaptic array, ``weight`` a
    per-synapse one (``v``: the synapses' variables)?"""
    return (target in v and weight in v and v.indices[target] == "_postsynaptic_idx" and not v[target].scalar
            and v.indices[weight] == "_idx" and not v[weight].scalar)


def _ptr(synapses, name):
    """The generated code's pointer to a variable of ``synapses``."""
    from brian2 import get_device
    return "_ptr" + get_device().get_array_name(synapses.variables[name])


def row_layout(pathway):
    """``{"pre", "post", "n_pre", "n_post", "post_load"}`` for a pathway between whole groups (no
    subgroups): what a template needs to check in the binary that its synapses are all-to-all and
    stored row by row (synapse k: source k / n_post, target k % n_post; the ``brian_snn_rows.cpp``
    macro), and ``post_load``, the generated statement that reads a synapse's target index; else
    None."""
    from brian2 import NeuronGroup
    syn = pathway.synapses
    if type(syn.source) is not NeuronGroup or type(syn.target) is not NeuronGroup:
        return None
    post = _ptr(syn, "_synaptic_post")
    return {"pre": _ptr(syn, "_synaptic_pre"), "post": post, "n_pre": len(syn.source), "n_post": len(syn.target),
            "post_load": f"const int32_t _postsynaptic_idx = {post}[_idx];"}


def dense_transmission(pathway):
    """:func:`row_layout` with ``target`` and ``weight`` (C++ names) for a pathway whose whole code
    is ``target_post += w``: ``target`` a postsynaptic array, ``w`` per synapse, both of one
    floating-point type.  Whether its synapses are all-to-all row by row is checked in the binary."""
    stmts = _statements(pathway.code or "")
    if not stmts or len(stmts) != 1 or stmts[0][1] != "+=":
        return None
    target, _, weight = stmts[0]
    v = pathway.synapses.variables
    layout = row_layout(pathway)
    if (layout is None or not _adds_weight_to_target(v, target, weight)
            or np.dtype(v[target].dtype) != np.dtype(v[weight].dtype) or np.dtype(v[weight].dtype).kind != "f"):
        return None
    return dict(layout, target=_ptr(pathway.synapses, target), weight=_ptr(pathway.synapses, weight))


def install(objects) -> list:
    """Give the code runners of ``objects`` (a network's) our templates where they apply; returns
    the names of the code runners changed.  Call before the network's code objects are generated
    (its first ``run``), on the cpp_standalone device, without OpenMP."""
    from brian2 import NeuronGroup, Synapses
    changed = []
    for obj in objects:
        if isinstance(obj, Synapses):
            for pathway in obj._pathways:
                if pathway.template != "synapses":
                    continue
                if order_free_pathway(pathway):
                    pathway.codeobj_class, pathway.template = OwnTemplatesCodeObject, MEMORY_ORDER
                    pathway.template_kwds = dict(pathway.template_kwds or {}, brian_snn_rows=row_layout(pathway))
                elif frozen := frozen_transmission(pathway):
                    pathway.codeobj_class, pathway.template = OwnTemplatesCodeObject, FROZEN
                    pathway.template_kwds = dict(pathway.template_kwds or {}, brian_snn_transmit=frozen)
                elif dense := dense_transmission(pathway):
                    pathway.codeobj_class, pathway.template = OwnTemplatesCodeObject, DENSE
                    pathway.template_kwds = dict(pathway.template_kwds or {}, brian_snn_dense=dense)
                else:
                    continue
                changed.append(pathway.name)
        elif isinstance(obj, NeuronGroup):
            for th in obj.thresholder.values():
                guard = threshold_guard(th)
                if guard:
                    th.codeobj_class, th.template = OwnTemplatesCodeObject, GUARDED
                    th.template_kwds = dict(th.template_kwds, brian_snn_guard=guard)
                elif deterministic_condition(th):
                    th.codeobj_class, th.template = OwnTemplatesCodeObject, TWO_PASS
                else:
                    continue
                changed.append(th.name)
    return changed
