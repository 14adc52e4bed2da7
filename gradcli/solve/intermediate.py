"""--wrt a named step: tape.gradient(f, y) for an intermediate tensor y, and the two witnesses that check it.

The tape answers for the tensor the step computed (witnesses.tape.record_steps). sympy and finite
differences answer for the same question written out: f with the step y kept as a symbol of its own (the
"cut" tree), differentiated by y at y's own value, the inputs held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.lang.printers import to_text
from gradcli.lang.tree import Name, Node, infer_shape, substitute
from gradcli.witnesses import differences, numeric


def cut(steps: tuple[tuple[str, Node], ...], target: str, step: str) -> Node:
    """The target's tree with every step inlined except `step`, which stays a name."""
    seen: dict[str, Node] = {}
    for name, tree in steps:
        full = substitute(tree, seen)
        if name == target:
            return full
        seen[name] = Name(name) if name == step else full
    raise ValueError(f"{target} is not a step")


def inlined(steps: tuple[tuple[str, Node], ...], step: str) -> Node:
    """The step as one tree of the inputs."""
    seen: dict[str, Node] = {}
    for name, tree in steps:
        seen[name] = substitute(tree, seen)
    return seen[step]


@dataclass(frozen=True)
class Step:
    """One intermediate source: its own tree of the inputs, and the target written with it as a symbol."""

    name: str
    text: str  # the step as typed: y = x*x
    value: Node  # the step inlined: a tree of the inputs
    cut: Node  # the target with the step as a symbol

    def note_data(self) -> dict:
        return {"step": self.text, "cut": to_text(self.cut)}


def steps_of(problem) -> list[Step]:
    target = problem.targets[0][0]
    raw = dict(problem.steps)
    return [
        Step(name, to_text(raw[name]), inlined(problem.steps, name), cut(problem.steps, target, name))
        for name in problem.intermediates
    ]


class Witnesses:
    """sympy's partial derivative and the finite difference for each intermediate of one target."""

    def __init__(self, problem):
        from gradcli.witnesses.symbolic import Symbolic

        self.problem = problem
        self.steps = steps_of(problem)
        self.symbolic, self.values = {}, {}
        for step in self.steps:
            shapes = {**problem.shapes, step.name: infer_shape(step.value, problem.shapes)}
            self.symbolic[step.name] = Symbolic(step.cut, shapes, problem.constants)
            self.values[step.name] = Symbolic(step.value, problem.shapes, problem.constants)

    def described(self) -> dict[str, str]:
        return {name: s.describe(name) for name, s in self.symbolic.items()}

    def exact(self, point) -> dict:
        from gradcli.witnesses.symbolic import DIGITS

        given = {**point, **self.problem.constants}
        out = {}
        for name, symbolic in self.symbolic.items():
            subs, value = symbolic.substitutions(given), self.values[name]
            inner, symbols = value.substitutions(given), symbolic.symbols[name]
            if isinstance(symbols, np.ndarray):
                subs.update({s: e.evalf(DIGITS, subs=inner) for s, e in zip(symbols.flat, value.f.flat, strict=True)})
            else:
                subs[symbols] = value.f.evalf(DIGITS, subs=inner)
            out[name] = symbolic.exact(name, subs)
        return out

    def environments(self, env: dict) -> dict[str, dict]:
        """Per step, the point with the step's own float64 value beside the inputs."""
        return {s.name: {**env, s.name: np.asarray(numeric.function(s.value, env).base, dtype=np.float64)}
                for s in self.steps}  # fmt: skip

    def finite_differences(self, env: dict) -> dict:
        out = {}
        for step in self.steps:
            around = self.environments(env)[step.name]
            out[step.name] = differences.derivative(numeric.function(step.cut, around), around, step.name)
        return out


def exact_partial(cut_tree: Node, name: str, value_tree: Node, problem, point) -> float:
    """sympy's d cut_tree / d name at the point, `name` standing at value_tree's exact value (a scalar)."""
    from gradcli.witnesses.symbolic import DIGITS, Symbolic

    outer = Symbolic(cut_tree, {**problem.shapes, name: ()}, problem.constants)
    inner = Symbolic(value_tree, problem.shapes, problem.constants)
    subs = outer.substitutions(point)
    subs[outer.symbols[name]] = inner.f.evalf(DIGITS, subs=inner.substitutions(point))
    return outer.exact(name, subs)
