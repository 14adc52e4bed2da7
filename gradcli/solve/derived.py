"""Derivatives made from a gradient: dy/dx on an implicit curve F = 0, and directional derivatives.

Both call gradcli.grad for F's partial derivatives (tape, sympy and finite
differences) and combine each method's partials the same way:
dy/dx = -F_x / F_y, and D_u f = grad f . u with u the unit vector along --direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradcli.errors import ExitCode, PointError
from gradcli.results.gradient import json_number


@dataclass(frozen=True)
class DerivedPoint:
    at: dict
    tape: float
    exact: float
    finite_difference: float
    agree: bool
    differentiable: bool

    def to_dict(self) -> dict:
        return {
            "at": {n: json_number(v) for n, v in self.at.items()},
            "tape": json_number(self.tape),
            "exact": json_number(self.exact),
            "finite_difference": json_number(self.finite_difference),
            "agree": self.agree,
            "differentiable": self.differentiable,
        }


@dataclass(frozen=True)
class DerivedResult:
    expression: str
    kind: str  # "implicit" or "directional"
    of: str  # "dy/dx", or "D_u f"
    symbolic: str
    direction: tuple[float, ...] | None
    results: tuple[DerivedPoint, ...]

    @property
    def exit_code(self) -> ExitCode:
        if not all(r.differentiable for r in self.results):
            return ExitCode.NOT_DIFFERENTIABLE
        return ExitCode.OK if all(r.agree for r in self.results) else ExitCode.DISAGREE

    def to_dict(self) -> dict:
        return {
            "expression": self.expression,
            "kind": self.kind,
            "of": self.of,
            "symbolic": self.symbolic,
            "direction": list(self.direction) if self.direction is not None else None,
            "status": {0: "agree", 1: "disagree", 3: "not differentiable"}[int(self.exit_code)],
            "exit_code": int(self.exit_code),
            "results": [r.to_dict() for r in self.results],
        }


def implicit(expression: str, y: str, at, wrt: list[str] | None = None, from_latex: bool = False) -> DerivedResult:
    """dy/dx at points on the curve `left = right` (or F = 0), by each of grad's three methods."""
    import sympy

    from gradcli.grading.question import _equation
    from gradcli.lang.printers import to_text
    from gradcli.lang.tree import free_names
    from gradcli.solve.gradient import grad
    from gradcli.witnesses.symbolic import Symbolic

    tree = _equation(expression, from_latex)
    names = sorted(free_names(tree))
    if y not in names:
        raise PointError(f"--implicit {y}: '{y}' is not in the equation ({', '.join(names) or 'no variables'})")
    others = [n for n in wrt or names if n != y]
    if len(others) != 1:
        raise PointError(f"--implicit {y}: give the one variable to differentiate by with --wrt")
    x = others[0]
    text = to_text(tree)
    result = grad(text, at=at, wrt=[x, y])
    symbolic = Symbolic(tree, {n: () for n in names})
    slope = sympy.simplify(-sympy.diff(symbolic.f, symbolic.symbols[x]) / sympy.diff(symbolic.f, symbolic.symbols[y]))
    points = []
    for point in result.results:
        scale = max([1.0, *(abs(v) for v in point.at.values() if isinstance(v, float))])
        if not (math.isfinite(point.value) and abs(point.value) <= 1e-9 * scale):
            where = ", ".join(f"{n} = {v:g}" for n, v in point.at.items())
            raise PointError(f"the point {where} is not on the curve {text} = 0 (F = {point.value:.6g} there)")
        fx, fy = (p for p in point.gradient if p.name in (x, y))
        if fx.name != x:
            fx, fy = fy, fx
        values = [_ratio(getattr(fx, m), getattr(fy, m)) for m in ("tape", "exact", "finite_difference")]
        defined = point.differentiable and fy.exact != 0 and all(math.isfinite(v) for v in values)
        points.append(DerivedPoint(dict(point.at), *values, agree=point.agree, differentiable=defined))
    return DerivedResult(f"{text} = 0", "implicit", f"d{y}/d{x}", sympy.sstr(slope), None, tuple(points))


def directional(
    expression: str, direction: list[str], at, wrt: list[str] | None = None, from_latex: bool = False
) -> DerivedResult:
    """grad f . u at each point, u the unit vector along `direction` (in --wrt or alphabetical order)."""
    import sympy

    from gradcli.grading.question import _direction, _target
    from gradcli.lang.printers import to_text
    from gradcli.lang.tree import free_names
    from gradcli.solve.gradient import grad
    from gradcli.witnesses.symbolic import Symbolic

    tree = _target(expression, from_latex)
    names = list(wrt or sorted(free_names(tree)))
    unit = _direction(direction, names)
    result = grad(expression, at=at, wrt=names, from_latex=from_latex)
    symbolic = Symbolic(tree, {n: () for n in sorted(free_names(tree) | set(names))})
    along = sympy.simplify(
        sum(c * sympy.diff(symbolic.f, symbolic.symbols[n]) for c, n in zip(unit, names, strict=True))
    )
    weights = [float(c) for c in unit]
    points = []
    for point in result.results:
        partials = {p.name: p for p in point.gradient}
        values = [
            sum(w * float(getattr(partials[n], m)) for w, n in zip(weights, names, strict=True))
            for m in ("tape", "exact", "finite_difference")
        ]
        points.append(DerivedPoint(dict(point.at), *values, agree=point.agree, differentiable=point.differentiable))
    return DerivedResult(to_text(tree), "directional", "D_u f", sympy.sstr(along), tuple(weights), tuple(points))


def _ratio(fx, fy) -> float:
    try:
        return -float(fx) / float(fy) + 0.0  # + 0.0: no -0 in the output
    except (ZeroDivisionError, TypeError):
        return math.nan
