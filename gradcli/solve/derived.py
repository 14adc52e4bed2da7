"""Derivatives made from a gradient: dy/dx on an implicit curve F = 0, and directional derivatives.

Both call gradcli.grad for F's partial derivatives (tape, sympy and finite
differences) and combine each method's partials the same way:
dy/dx = -F_x / F_y, and D_u f = grad f . u with u the unit vector along --direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradcli.errors import ExitCode, GradcliError, PointError
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
    order: int = 1
    sampled: bool = False  # no point was given: the formula, checked at these sample points
    steps: dict = field(default_factory=dict)
    latex: dict = field(default_factory=dict)
    reading: tuple = ()  # of lang.notation.Note: how the expression was read where it could surprise

    @property
    def exit_code(self) -> ExitCode:
        if self.sampled:  # no point was asked for: no sample point is a requested point
            return ExitCode.OK if self.results and all(r.agree for r in self.results) else ExitCode.NOT_DIFFERENTIABLE
        if not all(r.differentiable for r in self.results):
            return ExitCode.NOT_DIFFERENTIABLE
        return ExitCode.OK if all(r.agree for r in self.results) else ExitCode.DISAGREE

    def to_dict(self) -> dict:
        return {
            "expression": self.expression,
            "reading": [n.to_dict() for n in self.reading],
            "kind": self.kind,
            "of": self.of,
            "symbolic": self.symbolic,
            "direction": list(self.direction) if self.direction is not None else None,
            "status": {0: "agree", 1: "disagree", 3: "not differentiable"}[int(self.exit_code)],
            "exit_code": int(self.exit_code),
            "results": [r.to_dict() for r in self.results],
            "order": self.order,
            "sampled": self.sampled,
            **({"steps": {n: [s.to_dict() for s in steps] for n, steps in self.steps.items()}} if self.steps else {}),
            **({"latex": self.latex} if self.latex else {}),
        }


def implicit(
    expression: str,
    y: str,
    at=None,
    wrt: list[str] | None = None,
    from_latex: bool = False,
    *,
    const: dict | None = None,
    order: int = 1,
    steps: bool = False,
    latex: bool = False,
) -> DerivedResult:
    """d^order y/dx^order at points on the curve `left = right` (or F = 0), by each of grad's three methods;
    without `at`, at sample points on the curve. `const` names are numbers, not variables of the curve."""
    from gradcli.grading.question import _equation, equation_reading

    tree = _equation(expression, from_latex)
    reading = equation_reading(expression, from_latex)
    const = dict(const or {})
    x, names = _independent(tree, y, wrt, const)
    _check_order(order, steps, latex)
    curve = _Curve(tree, x, y, names, const, order)
    sampled = at is None
    points = curve.samples() if sampled else at
    results = tuple(curve.at(points)) if points else ()
    extra = _derivation(tree, (x, y), steps, latex, curve.formula)
    power = "" if order == 1 else str(order)
    of = f"d{power}{y}/d{x}{power}"
    return DerivedResult(
        f"{curve.text} = 0", "implicit", of, curve.shown, None, results, order, sampled, reading=reading, **extra
    )


def _independent(tree, y: str, wrt, const) -> tuple[str, list[str]]:
    from gradcli.lang.tree import free_names

    names = sorted(free_names(tree))
    if y not in names:
        raise PointError(f"--implicit {y}: '{y}' is not in the equation ({', '.join(names) or 'no variables'})")
    if y in const:
        raise PointError(f"--implicit {y}: {y} is the curve's dependent variable, not a constant")
    unknown = sorted(set(const) - set(names))
    if unknown:
        raise PointError(f"--const {unknown[0]}: '{unknown[0]}' is not in the equation ({', '.join(names)})")
    others = [n for n in wrt or names if n != y and n not in const]
    if len(others) != 1:
        raise PointError(f"--implicit {y}: give the one variable to differentiate by with --wrt")
    return others[0], names


def _check_order(order: int, steps: bool, latex: bool) -> None:
    from gradcli.solve.problem import MAX_ORDER

    if not 1 <= order <= MAX_ORDER:
        raise PointError(f"--order must be between 1 and {MAX_ORDER}, not {order}")
    if order != 1 and (steps or latex):
        raise PointError("--steps and --latex are for first derivatives")


class _Curve:
    """The curve F = 0 with y a function of x: the slope formula (sympy) and its value by each method."""

    def __init__(self, tree, x: str, y: str, names, const: dict, order: int):
        import sympy

        from gradcli.lang.printers import to_text
        from gradcli.witnesses.symbolic import Symbolic

        self.tree, self.x, self.y, self.const, self.order = tree, x, y, const, order
        self.text = to_text(tree)
        self.symbolic = Symbolic(tree, {n: () for n in names})
        s, f = self.symbolic.symbols, self.symbolic.f
        slope = -sympy.diff(f, s[x]) / sympy.diff(f, s[y])
        derivative = slope
        for _ in range(order - 1):  # the chain rule along the curve: d/dx g(x, y(x)) = g_x + g_y y'
            derivative = sympy.diff(derivative, s[x]) + sympy.diff(derivative, s[y]) * slope
        self.derivative = derivative
        self.fy = sympy.diff(f, s[y])
        fixed = self.symbolic.substitutions(_values(const)) if const else {}
        self.formula = _simplified(derivative.subs(fixed))
        self.shown = sympy.sstr(self.formula)

    def samples(self) -> list[dict[str, str]]:
        """Points on the curve: x from the formula's sample values, y moved onto F = 0 by Newton's method."""
        from gradcli.solve.formula import _VALUES, SAMPLES

        found = []
        for i, xv in enumerate(_VALUES):
            yv = _newton(self._f_of_y(xv), _VALUES[(i + 5) % len(_VALUES)])
            if yv is not None and self._usable(xv, yv):
                found.append({self.x: repr(xv), self.y: repr(yv)})
            if len(found) == SAMPLES:
                break
        return found

    def _env(self, xv: float, yv: float) -> dict:
        import numpy as np

        constants = {n: np.float64(float(_values({n: v})[n].data)) for n, v in self.const.items()}
        return {**constants, self.x: np.float64(xv), self.y: np.float64(yv)}

    def _f_of_y(self, xv: float):
        import numpy as np

        from gradcli.witnesses.numeric import value

        def f(yv):
            with np.errstate(all="ignore"):
                return float(value(self.tree, self._env(xv, yv)))

        return f

    def _usable(self, xv: float, yv: float) -> bool:
        from gradcli.witnesses.numeric import events_at

        return not events_at(self.tree, self._env(xv, yv), frozenset((self.x, self.y)))

    def at(self, points) -> list[DerivedPoint]:
        from gradcli.solve.gradient import grad

        if self.order == 1:
            result = grad(self.text, at=points, const=self.const or None, wrt=[self.x, self.y])
            return [self._first(point) for point in result.results]
        from gradcli.solve.problem import Options, prepare

        problem = prepare(self.text, points, Options(const=self.const or None, wrt=(self.x, self.y)))
        return [self._higher(problem, point) for point in problem.points]

    def _on_curve(self, at: dict, value: float) -> None:
        scale = max([1.0, *(abs(v) for v in at.values() if isinstance(v, float))])
        if not (math.isfinite(value) and abs(value) <= 1e-9 * scale):
            where = ", ".join(f"{n} = {v:g}" for n, v in at.items())
            raise PointError(f"the point {where} is not on the curve {self.text} = 0 (F = {value:.6g} there)")

    def _first(self, point) -> DerivedPoint:
        self._on_curve(point.at, point.value)
        partials = {p.name: p for p in point.gradient}
        fx, fy = partials[self.x], partials[self.y]
        values = [_ratio(getattr(fx, m), getattr(fy, m)) for m in ("tape", "exact", "finite_difference")]
        defined = point.differentiable and fy.exact != 0 and all(math.isfinite(v) for v in values)
        return DerivedPoint(dict(point.at), *values, agree=point.agree, differentiable=defined)

    def _higher(self, problem, point) -> DerivedPoint:
        import numpy as np

        from gradcli import tolerance
        from gradcli.solve.gradient import _env
        from gradcli.witnesses import tape
        from gradcli.witnesses.numeric import value
        from gradcli.witnesses.symbolic import _to_float

        env = _env(problem, point)
        at = {n: float(v.data) if not v.shape else v.as_list() for n, v in point.items()}
        with np.errstate(all="ignore"):
            self._on_curve(at, float(value(self.tree, env)))
        subs = self.symbolic.substitutions({**point, **problem.constants})
        exact = _to_float(self.derivative, subs)
        defined = _to_float(self.fy, subs) not in (0.0,) and math.isfinite(exact)
        taped = tape.implicit_derivative(self.tree, env, self.x, self.y, self.order) + 0.0
        fd = _curve_difference(self.tree, env, self.x, self.y, self.order) + 0.0
        agree = bool(
            tolerance.close_each(taped, exact, tolerance.tape("float64"))
            and tolerance.close_each(fd, exact, tolerance.finite_difference(self.order))
        )
        return DerivedPoint(at, taped, exact, fd, agree=agree or not defined, differentiable=defined)


def _values(const: dict) -> dict:
    from gradcli.lang.values import parse_value

    return {n: parse_value(str(v), n) for n, v in const.items()}


def _simplified(expr):
    import sympy

    from gradcli.witnesses.symbolic import SIMPLIFY_SECONDS, time_limit

    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying the derivative"):
            return sympy.simplify(expr)
    except (ValueError, TypeError, ArithmeticError, RecursionError, GradcliError):
        return expr


def _newton(f, start: float, steps: int = 60) -> float | None:
    """A root of f near start (derivative by a central difference); None if it does not converge."""
    y = start
    for _ in range(steps):
        h = 1e-7 * max(1.0, abs(y))
        value, slope = f(y), (f(y + h) - f(y - h)) / (2 * h)
        if not (math.isfinite(value) and math.isfinite(slope)) or slope == 0:
            return None
        step = value / slope
        y -= step
        if abs(step) <= 1e-15 * max(1.0, abs(y)):
            return y if abs(f(y)) <= 1e-12 * max(1.0, abs(y)) else None
    return None


class _Along:
    """y(x) on the curve near the point, solved by Newton's method at each x: what finite differences see."""

    kinky = False

    def __init__(self, tree, env: dict, x: str, y: str):
        self.tree, self.env, self.x, self.y = tree, env, x, y

    def __call__(self, env: dict):
        import numpy as np

        from gradcli.witnesses.numeric import value

        def f(yv):
            with np.errstate(all="ignore"):
                return float(value(self.tree, {**env, self.y: np.float64(yv)}))

        root = _newton(f, float(self.env[self.y]))
        return np.float64(math.nan if root is None else root)


def _curve_difference(tree, env: dict, x: str, y: str, order: int) -> float:
    """d^order y/dx^order by finite differences of y(x), each y solved on the curve: independent of F's partials."""
    from gradcli.witnesses.differences import higher_difference

    return float(higher_difference(_Along(tree, env, x, y), env, x, order))


def _derivation(tree, names, steps: bool, latex: bool, formula) -> dict:
    """--steps and --latex: the derivation of F's partial derivatives, and LaTeX of F, them and the result."""
    if not (steps or latex):
        return {}
    import sympy

    from gradcli.grading.steps import derive
    from gradcli.grading.steps import latex as to_latex

    derived = {name: derive(tree, name) for name in names}
    out = {}
    if steps:
        out["steps"] = {name: s for name, (s, _) in derived.items()}
    if latex:
        out["latex"] = {**to_latex(tree, {n: d for n, (_, d) in derived.items()}), "result": sympy.latex(formula)}
    return out


def directional(
    expression: str,
    direction: list[str],
    at=None,
    wrt: list[str] | None = None,
    from_latex: bool = False,
    *,
    const: dict | None = None,
    order: int = 1,
    steps: bool = False,
    latex: bool = False,
) -> DerivedResult:
    """D_u^order f at each point, u the unit vector along `direction` (in --wrt or alphabetical order):
    d^order/dt^order f(p + t u) at t = 0; without `at`, at sample points of f's real domain."""
    import sympy

    from gradcli.grading.question import _direction, _program
    from gradcli.lang.parser import inline
    from gradcli.lang.printers import to_text
    from gradcli.lang.tree import free_names
    from gradcli.solve.formula import SAMPLES, sample_points
    from gradcli.witnesses.symbolic import Symbolic

    _check_order(order, steps, latex)
    program = _program(expression, from_latex)
    tree = list(inline(program).values())[-1]
    const = dict(const or {})
    names = list(wrt or sorted(free_names(tree) - set(const)))
    unit = _direction(direction, names)
    symbolic = Symbolic(tree, {n: () for n in sorted(free_names(tree) | set(names))})
    along = symbolic.f
    for _ in range(order):
        along = sum(c * sympy.diff(along, symbolic.symbols[n]) for c, n in zip(unit, names, strict=True))
    fixed = symbolic.substitutions(_values(const)) if const else {}
    along = _simplified(along.subs(fixed))
    sampled = at is None
    if sampled:
        at = [{n: repr(v) for n, v in p.items() if n not in const} for p in sample_points(tree)][:SAMPLES]
    points = _along_line(tree, names, unit, at, const, order, from_latex) if at else []
    extra = _derivation(tree, names, steps, latex, along)
    of = f"D_u{'' if order == 1 else '^' + str(order)} f"
    weights = tuple(float(c) for c in unit)
    shown = sympy.sstr(along)
    return DerivedResult(
        to_text(tree), "directional", of, shown, weights, tuple(points), order, sampled, reading=program.notes, **extra
    )


def _along_line(tree, names, unit, at, const, order, from_latex) -> list[DerivedPoint]:
    """D_u^n f(p): at order 1, grad f . u from each method's gradient; above, d^n/dt^n f(p + t u) at t = 0 by
    grad's three methods on that function of t, with p held constant."""
    from gradcli.lang.printers import to_text
    from gradcli.lang.tree import BinOp, Name, Num, free_names, substitute
    from gradcli.solve.gradient import grad

    if order == 1:
        weights = [float(c) for c in unit]
        result = grad(to_text(tree), at=at, const=const or None, wrt=names)
        points = []
        for point in result.results:
            partials = {p.name: p for p in point.gradient}
            values = [
                sum(w * float(getattr(partials[n], m)) for w, n in zip(weights, names, strict=True))
                for m in ("tape", "exact", "finite_difference")
            ]
            points.append(DerivedPoint(dict(point.at), *values, point.agree, point.differentiable))
        return points
    t = "t"
    while t in free_names(tree) or t in const:
        t += "_"
    step = {n: BinOp("*", Num(f"({c})", float(c)), Name(t)) for n, c in zip(names, unit, strict=True)}
    tangent = {n: BinOp("+", Name(n), along) for n, along in step.items()}
    line = to_text(substitute(tree, tangent))
    points = []
    for point in at:
        row = grad(line, at={t: "0"}, const={**const, **point}, wrt=[t], order=order).results[0]
        (partial,) = row.gradient
        values = (float(partial.tape), float(partial.exact), float(partial.finite_difference))
        points.append(DerivedPoint(dict(point), *values, row.agree, row.differentiable))
    return points


def _ratio(fx, fy) -> float:
    try:
        return -float(fx) / float(fy) + 0.0  # + 0.0: no -0 in the output
    except (ZeroDivisionError, TypeError):
        return math.nan
