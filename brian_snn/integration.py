"""A stable, cheap state updater for conditionally linear neuron models.

For every variable ``x`` with ``dx/dt = A*x + B``:

* if ``A`` is a constant (a plain decay such as a synaptic conductance or a trace), the
  update is the exact exponential ``x <- (x + B/A) * exp(A*dt) - B/A``; Brian hoists the
  constant ``exp(A*dt)`` out of the per-neuron loop, so it costs one multiply-add;
* if ``A`` depends on other state (the membrane of a conductance-based neuron, where
  ``A = -(1 + ge + gi)/tau``), the update is linearly implicit Euler
  ``x <- (x + dt*B) / (1 - dt*A)``: one division per neuron instead of one ``exp``, and
  unconditionally stable -- the new value is a convex combination of the old value and
  the momentary equilibrium, so ``v`` can never leave the range of the reversal
  potentials.  Forward Euler does leave it: with large input conductances it blew up to
  +0.9 V in a long frozen-weights run (docs/methods.md, Integration).

Use it as ``method=linear_implicit`` (or the registered name ``'linear_implicit'``).
"""
import sympy as sp
from brian2 import StateUpdateMethod
from brian2.parsing.sympytools import sympy_to_str
from brian2.stateupdaters.base import UnsupportedEquationsException
from brian2.stateupdaters.exponential_euler import get_conditionally_linear_system


class LinearImplicitStateUpdater(StateUpdateMethod):
    def __call__(self, equations, variables=None, method_options=None):
        if equations.is_stochastic:
            raise UnsupportedEquationsException("linear_implicit cannot solve stochastic equations")
        try:
            system = get_conditionally_linear_system(equations, variables)
        except ValueError:
            raise UnsupportedEquationsException("linear_implicit needs conditionally linear equations")
        dynamic = {sp.Symbol(n, real=True) for n in equations.diff_eq_names} | \
                  {sp.Symbol("not_refractory", real=True)}
        dt = sp.Symbol("dt", real=True)
        code = []
        for var, (A, B) in system.items():
            x = sp.Symbol(var, real=True)
            if A == 0:
                new = x + dt * B
            elif sp.sympify(A).free_symbols & dynamic:
                new = (x + dt * B) / (1 - dt * A)
            elif B == 0:
                new = x * sp.exp(A * dt)
            else:
                code.append(f"_BA_{var} = {sympy_to_str(B / A)}")
                ba = sp.Symbol(f"_BA_{var}", real=True)
                new = (x + ba) * sp.exp(A * dt) - ba
            code.append(f"_{var} = {sympy_to_str(new)}")
        code += [f"{var} = _{var}" for var in system]
        return "\n".join(code)


linear_implicit = LinearImplicitStateUpdater()
StateUpdateMethod.register("linear_implicit", linear_implicit)
