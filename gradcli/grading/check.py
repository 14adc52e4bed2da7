"""Checking a derivative answer: symbolically first (bounded in time), then at many points of the real domain.

A verdict is "correct", "wrong" (with a counterexample in the domain), "undecided"
(the domain is empty or tiny, or the answer cannot be evaluated: the reason says
which) or, at a requested point, "not differentiable" (exit 3). Every verdict
records the tolerance rule it used (gradcli/domain.py explains the magnitudes):

- exact: sympy proves the difference is 0, or the answer equals the derivative at
  every sample point to rounding error; a difference sympy can state (2e-12*x,
  exp(x)/10**8) is never rounding error. Small is not zero.
- relative (--rtol R): |answer - derivative| <= R * max(|answer|, |derivative|).
- decimals: a number answered at a point is judged to the decimals written
  (0.3536 for 0.35355...); --sig-figs N and --rtol R override.

A wrong answer is compared with the derivatives typical mistakes produce
(gradcli/mistakes.py); a mistake is named only when one of them equals it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, ParseError, PointError
from gradcli.lang.parser import inline, parse, parse_program
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, ListOf, Neg, Num, free_names
from gradcli.lang.values import parse_value
from gradcli.results.gradient import json_number
from gradcli.results.grading import EXACT, CheckResult, Tolerance

SIMPLIFY_SECONDS = 3
EXACT_RTOL = tolerance.GRADE_EXACT_RTOL  # rounding error, relative to the size of the terms a value is made from
POINT_RTOL = tolerance.GRADE_POINT_RTOL  # two 30-digit values at one point
MIN_POINTS = 10


@dataclass
class _Problem:
    """What is checked: the target derivatives and the answers, flat, with the shape they are shown in."""

    tree: object
    names: list[str]
    wrt: list[str]
    symbolic: object
    targets: list
    answer_trees: list
    answers: list
    shape: tuple
    kind: str
    curve: object = None  # F for an implicit curve F = 0
    implicit: str | None = None
    order: int = 1

    def base(self) -> dict:
        return {
            "expression": to_text(self.tree) + (" = 0" if self.curve is not None else ""),
            "answer": _shaped_text([to_text(a) for a in self.answer_trees], self.shape),
            "wrt": tuple(self.wrt),
            "derivative": _shaped_text([_sstr(t) for t in self.targets], self.shape),
            "kind": self.kind,
            "order": 2 if self.kind == "hessian" else self.order,
            "tree": self.tree,
        }


def check(
    expression: str,
    answer: str,
    wrt: list[str] | None = None,
    at: dict | None = None,
    *,
    order: int = 1,
    implicit: str | None = None,
    direction: list[str] | None = None,
    ranges: dict | None = None,
    rtol: float | None = None,
    sig_figs: int | None = None,
    from_latex: bool = False,
) -> CheckResult:
    """Is `answer` the derivative of `expression`? A list answer is the gradient in --wrt (or alphabetical)
    order, a matrix [[...], [...]] the Hessian; --implicit y checks dy/dx on the curve F = 0. from_latex=True
    reads the expression and the answer as LaTeX (--from-latex); point values never are."""
    if rtol is not None and not 0 < rtol < 1:
        raise PointError("--rtol must be between 0 and 1, e.g. 1e-6")
    if sig_figs is not None and not 1 <= sig_figs <= 15:
        raise PointError("--sig-figs must be between 1 and 15")
    problem = _problem(expression, answer, wrt, order, implicit, direction, from_latex)
    if at:
        return _at_point(problem, at, rtol, sig_figs)
    if ranges:
        unknown = sorted(set(ranges) - set(problem.names))
        if unknown:
            raise PointError(f"--range {unknown[0]}: '{unknown[0]}' is not a variable ({', '.join(problem.names)})")
    tolerance = EXACT
    if rtol is not None:
        tolerance = Tolerance("relative", rtol=rtol)
    elif sig_figs is not None:  # everywhere, N significant figures is a relative error of half a unit in the N-th
        tolerance = Tolerance("significant figures", rtol=0.5 * 10.0 ** (1 - sig_figs), sig_figs=sig_figs)
    difference = _simplified_difference(problem)
    if difference is not None and all(d == 0 for d in difference):
        return CheckResult(
            **problem.base(), verdict="correct", method="symbolic", reason="sympy simplifies the difference to 0"
        )
    try:
        return _numerically(problem, difference, ranges or {}, tolerance)
    except LimitError as exc:
        reason = f"sympy could not simplify the difference, and time ran out: {exc.message}"
        return CheckResult(**problem.base(), verdict="undecided", method="numeric", reason=reason)


def parse_ranges(options: list[str]) -> dict:
    """["x=100:200", "y=-1:1"] -> {"x": (100.0, 200.0), "y": (-1.0, 1.0)}."""
    from gradcli.lang.values import check_name

    ranges = {}
    for option in options:
        for part in option.split(","):
            name, sep, limits = part.partition("=")
            low, colon, high = limits.partition(":")
            name = name.strip()
            if not sep or not colon:
                raise PointError(f"bad --range '{part}': write name=low:high, e.g. x=100:200")
            check_name(name)
            values = [parse_value(v.strip(), f"--range {name}") for v in (low, high)]
            if any(v.shape for v in values):
                raise PointError(f"bad --range '{part}': the limits are numbers")
            low_value, high_value = (float(v.data) for v in values)
            if not (math.isfinite(low_value) and math.isfinite(high_value) and low_value < high_value):
                raise PointError(f"bad --range '{part}': low must be less than high, both finite")
            ranges[name] = (low_value, high_value)
    return ranges


# ---------------------------------------------------------------- what is checked


def _problem(expression, answer, wrt, order, implicit, direction, from_latex) -> _Problem:
    from gradcli.witnesses.symbolic import Symbolic

    if not 1 <= order <= 4:
        raise PointError("--order must be between 1 and 4")
    curve = None
    if implicit is not None:
        tree = curve = _equation(expression, from_latex)
    else:
        tree = _target(expression, from_latex)
    answer_trees, shape = _answers(answer, from_latex)
    names = sorted(free_names(tree))
    if not names:  # a constant: the variable comes from --wrt or from the answer
        from gradcli.lang.values import check_name

        for name in wrt or []:
            check_name(name)
        names = sorted(set(wrt or []) | set().union(*(free_names(a) for a in answer_trees))) or ["x"]
    if implicit is not None:
        if implicit not in names:
            raise PointError(f"--implicit {implicit}: '{implicit}' is not in the equation ({', '.join(names)})")
        independent = [n for n in names if n != implicit]
        if not independent:
            raise PointError("an implicit curve needs a second variable, e.g. x^2 + y^2 = 25 with --implicit y")
        wrt = list(wrt or independent)
        if implicit in wrt:
            raise PointError(f"--implicit {implicit}: differentiate {implicit} with respect to the other variables")
    wrt = list(wrt or names)
    for name in wrt:
        if name not in names:
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(names)})")
    unknown = sorted(set().union(*(free_names(a) for a in answer_trees)) - set(names))
    if unknown:
        raise ParseError(f"in the answer: {', '.join(unknown)} is not a variable of the expression")
    symbolic = Symbolic(tree, {n: () for n in names})
    answers = [_sympy_of(a, symbolic) for a in answer_trees]
    kind, targets, expected = _targets(symbolic, wrt, order, implicit, direction, shape)
    if shape != expected:
        raise PointError(_shape_message(shape, expected, wrt, kind))
    return _Problem(tree, names, wrt, symbolic, targets, answer_trees, answers, shape, kind, curve, implicit, order)


def _targets(symbolic, wrt, order, implicit, direction, shape):
    """(kind, flat list of sympy derivatives, expected answer shape)."""
    import sympy

    s = symbolic.symbols
    f = symbolic.f
    if direction is not None:
        if implicit is not None or order != 1:
            raise PointError("--direction is a first derivative of a function; leave out --implicit and --order")
        u = _direction(direction, wrt)
        return "directional", [sympy.Add(*(c * sympy.diff(f, s[n]) for c, n in zip(u, wrt, strict=True)))], ()
    if implicit is not None:
        y = s[implicit]
        slopes = [-sympy.diff(f, s[n]) / sympy.diff(f, y) for n in wrt]
        if order == 1:
            return "implicit", slopes, () if len(wrt) == 1 else (len(wrt),)
        if len(wrt) != 1:
            raise PointError("--order 2 with --implicit needs one independent variable")
        derivative = slopes[0]
        for _ in range(order - 1):
            derivative = sympy.diff(derivative, s[wrt[0]]) + sympy.diff(derivative, y) * slopes[0]
        return "implicit", [derivative], ()
    if len(shape) == 2 or (order == 2 and len(wrt) > 1):
        if order > 2:
            raise PointError("a matrix answer is the Hessian: --order 2")
        return "hessian", [sympy.diff(f, s[a], s[b]) for a in wrt for b in wrt], (len(wrt), len(wrt))
    if order > 1:
        if len(wrt) != 1:
            raise PointError(f"--order {order} needs one variable: add --wrt")
        return "derivative", [sympy.diff(f, s[wrt[0]], order)], ()
    derivatives = [symbolic.derivative(n) for n in wrt]
    return ("derivative" if len(wrt) == 1 else "gradient"), derivatives, () if len(wrt) == 1 else (len(wrt),)


def _direction(direction, wrt):
    import sympy

    if len(direction) != len(wrt):
        raise PointError(
            f"--direction has {len(direction)} component(s) but there are {len(wrt)} variable(s) ({', '.join(wrt)})"
        )
    values = [parse_value(text, "--direction") for text in direction]
    if any(v.shape for v in values):
        raise PointError("--direction takes numbers, e.g. --direction 1,1")
    from gradcli.witnesses.symbolic import exact_value

    vector = [exact_value(v) for v in values]
    norm = sympy.sqrt(sum(c**2 for c in vector))
    if norm == 0:
        raise PointError("--direction must not be the zero vector")
    return [c / norm for c in vector]


def _shape_message(shape, expected, wrt, kind) -> str:
    parts = math.prod(shape) if shape else 1
    needed = math.prod(expected) if expected else 1
    if kind == "hessian":
        return f"the Hessian in {', '.join(wrt)} is a {expected[0]}x{expected[1]} matrix [[...], [...]]"
    hint = ""
    if parts == 1 and needed == 2:
        hint = " (for dy/dx of an implicit curve F(x, y) = 0, add --implicit y)"
    return (
        f"the answer has {parts} part(s) but there are {needed} derivative(s) to check "
        f"(with respect to {', '.join(wrt)}): give a list in that order, or --wrt{hint}"
    )


def _target(expression: str, from_latex: bool = False):
    try:
        steps = inline(parse_program(expression, latex=from_latex))
    except ParseError as exc:
        if _sides(expression) is not None:
            raise ParseError(
                "an equation checks an implicit derivative: add --implicit NAME, e.g. --implicit y"
            ) from exc
        raise
    return steps[list(steps)[-1]]


def _sides(text: str):
    """The two sides of 'left = right' (one '=', not part of ==, <=, >=, !=), else None."""
    positions = [i for i, c in enumerate(text) if c == "=" and text[i - 1 : i] not in ("=", "<", ">", "!")]
    positions = [i for i in positions if text[i + 1 : i + 2] != "="]
    if len(positions) != 1:
        return None
    return text[: positions[0]], text[positions[0] + 1 :]


def _equation(expression: str, from_latex: bool = False):
    """F = left - right for 'left = right', or the expression itself (F = 0)."""
    sides = _sides(expression)
    if sides is None:
        return _target(expression, from_latex)
    left, right = (_side(part, name, from_latex) for part, name in zip(sides, ("left", "right"), strict=True))
    return BinOp("-", left, right)


def _side(text: str, which: str, from_latex: bool):
    if not text.strip():
        raise ParseError(f"the {which} side of the equation is empty")
    try:
        return parse(text, latex=from_latex)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"in the {which} side of the equation: {exc.message}", exc.column, exc.hint) from exc


def _answers(answer: str, from_latex: bool):
    """The answer's parts (flat) and its shape: () a scalar, (n,) a list, (n, n) a matrix."""
    if not answer.strip():
        raise ParseError("the answer is empty")
    try:
        tree = parse(answer, allow_lists=True, latex=from_latex)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"in the answer: {exc.message}", exc.column, exc.hint) from exc
    if not isinstance(tree, ListOf):
        return [tree], ()
    rows = list(tree.items)
    if not any(isinstance(r, ListOf) for r in rows):
        return rows, (len(rows),)
    if not all(isinstance(r, ListOf) for r in rows) or len({len(r.items) for r in rows}) != 1:
        raise ParseError("in the answer: a matrix is a list of rows of equal length, e.g. [[2, 0], [0, 2]]")
    if any(isinstance(i, ListOf) for r in rows for i in r.items):
        raise ParseError("in the answer: a gradient is a list and a Hessian a matrix; nothing deeper")
    return [i for r in rows for i in r.items], (len(rows), len(rows[0].items))


def _shaped(values: list, shape: tuple):
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    return [list(values[i * shape[1] : (i + 1) * shape[1]]) for i in range(shape[0])]


def _shaped_text(texts: list[str], shape: tuple) -> str:
    shaped = _shaped(texts, shape)
    if not shape:
        return shaped
    if len(shape) == 1:
        return "[" + ", ".join(shaped) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in shaped) + "]"


def _sstr(expr) -> str:
    import sympy

    return sympy.sstr(expr)


def _sympy_of(tree, symbolic):
    from gradcli.lang.tree import evaluate
    from gradcli.witnesses.symbolic import SympyBackend

    return evaluate(tree, symbolic.symbols, SympyBackend())


def _simplified_difference(problem: _Problem):
    """Each target minus its answer, simplified by sympy in bounded time; None if sympy gave up."""
    import sympy

    from gradcli.witnesses.symbolic import time_limit

    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying"):
            return [sympy.simplify(t - a) for t, a in zip(problem.targets, problem.answers, strict=True)]
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        return None


# ---------------------------------------------------------------- everywhere: sample the real domain


def _numerically(problem: _Problem, difference, ranges: dict, tolerance: Tolerance) -> CheckResult:
    from gradcli.grading import domain

    symbols = problem.symbolic.symbols
    mapping = {symbols[n]: n for n in problem.names}
    base = problem.base()
    project = _curve_projection(problem, mapping) if problem.curve is not None else None
    try:
        sample = domain.sample(problem.names, [problem.symbolic.f, *problem.targets], symbols, ranges, project)
        if sample.size < MIN_POINTS:
            return CheckResult(**base, verdict="undecided", method="numeric", reason=_too_few(sample, problem))
        with np.errstate(all="ignore"):
            pairs = [
                (domain.evaluate(t, mapping, sample.env), domain.evaluate(a, mapping, sample.env))
                for t, a in zip(problem.targets, problem.answers, strict=True)
            ]
    except domain.NotVectorisable as exc:
        reason = f"sympy could not simplify the difference, and {exc} cannot be evaluated at sample points"
        return CheckResult(**base, verdict="undecided", method="numeric", reason=reason)
    gaps = _gaps(difference if tolerance.rule == "exact" else None, mapping, sample.env)
    n = sample.size
    bad = np.zeros(n, dtype=bool)
    stated = np.zeros(n, dtype=bool)  # where sympy's simplified difference is plainly not 0
    for i, ((d, d_mag), (a, a_mag)) in enumerate(pairs):
        d, d_mag, a, a_mag = (np.broadcast_to(v, (n,)) for v in (d, d_mag, a, a_mag))
        rtol = tolerance.rtol
        if tolerance.rule != "exact":
            d_mag, a_mag = np.abs(d), np.abs(a)
        bad |= ~domain.close(d, d_mag, a, a_mag, rtol)
        if gaps is not None:
            gap, gap_mag = (np.broadcast_to(v, (n,)) for v in gaps[i])
            with np.errstate(all="ignore"):
                stated |= np.isfinite(gap) & (np.abs(gap) > EXACT_RTOL * gap_mag)
    bad |= stated
    where = sample.describe()
    if not bad.any():
        reason = f"equal at all {n} sample points ({where}) {tolerance.describe()}"
        if difference is None or tolerance.rule == "exact":
            reason += "; sympy could not simplify the difference"
        return CheckResult(**base, verdict="correct", method="numeric", reason=reason, tolerance=tolerance)
    i = _confirmed(problem, sample.env, bad, stated, pairs, tolerance)
    if i is None and not bad.any():
        reason = f"equal at all {n} sample points ({where}) {tolerance.describe()}, some checked to 30 digits"
        return CheckResult(**base, verdict="correct", method="numeric", reason=reason, tolerance=tolerance)
    if i is None:
        reason = (
            f"float64 finds {int(bad.sum())} differing points of {n}, but 30-digit evaluation does not confirm them"
        )
        return CheckResult(**base, verdict="undecided", method="numeric", reason=reason, tolerance=tolerance)
    counter = {
        "at": {name: float(sample.env[name][i]) for name in problem.names},
        "answer": _shaped([json_number(_at(a, i)) for _, (a, _m) in pairs], problem.shape),
        "derivative": _shaped([json_number(_at(d, i)) for (d, _m), _ in pairs], problem.shape),
    }
    reason = f"differs at {int(bad.sum())} of {n} sample points ({where}){_region(sample.env, problem.names, bad)}"
    reason += _stated(difference)
    if tolerance.rule != "exact":
        reason += f"; judged {tolerance.describe()}"
    mistake = _mistake(problem, sample, bad)
    return CheckResult(
        **base,
        verdict="wrong",
        method="numeric",
        reason=reason,
        counterexample=counter,
        tolerance=tolerance,
        mistake=mistake,
    )


CONFIRM = 10  # counterexamples tried at 30 digits before float64 alone is not trusted


def _confirmed(problem: _Problem, env, bad, stated, pairs, tolerance: Tolerance) -> int | None:
    """A counterexample confirmed at 30 digits (or by sympy's stated difference); a point float64 got
    wrong is taken off `bad` (in place)."""
    for _ in range(CONFIRM):
        if not bad.any():
            return None
        i = _nicest(env, bad, pairs)
        point = {problem.symbolic.symbols[n]: float(env[n][i]) for n in problem.names}
        if stated[i] or _differs_exactly(problem, point, tolerance):
            return i
        bad[i] = False
    return None


def _differs_exactly(problem: _Problem, point: dict, tolerance: Tolerance) -> bool:
    import sympy

    from gradcli.witnesses.symbolic import DIGITS, EVAL_SECONDS, _to_float, time_limit

    subs = {s: sympy.Float(v, DIGITS) for s, v in point.items()}
    for target, answer in zip(problem.targets, problem.answers, strict=True):
        exact, given = _to_float(target, subs), _to_float(answer, subs)
        if not math.isfinite(given):
            return math.isfinite(exact)
        try:
            with time_limit(EVAL_SECONDS, "confirming a counterexample"):
                gap = abs(complex((target - answer).evalf(DIGITS, subs=subs)))
        except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
            return True  # float64 said they differ and nothing finer says otherwise
        rtol = tolerance.rtol if tolerance.rule != "exact" else 1e-20
        if gap > rtol * max(abs(exact), abs(given)):
            return True
    return False


def _gaps(difference, mapping, env):
    """The simplified differences at the sample points, where they can be evaluated: a stated difference
    (exp(x)/10**8) is no rounding error however small it is next to the derivative."""
    from gradcli.grading import domain

    if difference is None:
        return None
    try:
        with np.errstate(all="ignore"):
            return [domain.evaluate(d, mapping, env) for d in difference]
    except domain.NotVectorisable:
        return None


def _at(values, i) -> float:
    """The i-th sample's value (a constant derivative is one number for every sample)."""
    return float(values if np.ndim(values) == 0 else values[i])


def _nicest(env, bad, pairs) -> int:
    """The counterexample easiest to read: coordinates of moderate size, away from a pole of the derivative."""
    n = len(bad)
    size = np.max(np.abs(np.vstack([np.broadcast_to(d, (n,)) for (d, _), _ in pairs])), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.sum([np.abs(np.log10(np.abs(v))) for v in env.values()], axis=0) + np.abs(np.log10(size))
    return (
        int(np.argmin(np.where(bad & np.isfinite(distance), distance, np.inf)))
        if np.isfinite(np.where(bad, distance, np.inf)).any()
        else int(np.argmax(bad))
    )


def _too_few(sample, problem) -> str:
    where = "on the curve" if problem.curve is not None else "where the function and its derivative are real"
    if sample.size == 0:
        return f"the domain looks empty: none of the {sample.tried} points tried ({sample.describe()}) is {where}"
    return (
        f"the domain is tiny: only {sample.size} of the {sample.tried} points tried ({sample.describe()}) "
        f"are {where}; give --range to sample inside it"
    )


def _stated(difference) -> str:
    """The simplified difference, when it is short enough to be a useful part of the reason."""
    if difference is None or len(difference) != 1:
        return ""
    import sympy

    text = _sstr(difference[0])
    simple = len(text) <= 40 and sympy.count_ops(difference[0]) <= 5
    return f"; the difference simplifies to {text}" if simple and difference[0] != 0 else ""


def _region(env, names, bad) -> str:
    """Name the side of 0 where they differ, when both sides were sampled and they agree on the other."""
    agree = ~bad
    if not agree.any():
        return ""
    for n in names:
        if np.all(env[n][bad] < 0) and np.all(env[n][agree] > 0):
            return f", all with {n} < 0 (it agrees where {n} > 0)"
        if np.all(env[n][bad] > 0) and np.all(env[n][agree] < 0):
            return f", all with {n} > 0 (it agrees where {n} < 0)"
    return ""


def _curve_projection(problem: _Problem, mapping):
    """Move each candidate onto F = 0 along the implicit variable (Newton's method); keep those that converge."""
    import sympy

    from gradcli.grading import domain

    y = problem.implicit
    f = problem.symbolic.f
    fy = sympy.diff(f, problem.symbolic.symbols[y])

    def project(env):
        with np.errstate(all="ignore"):
            values = env[y].copy()
            for _ in range(40):
                env[y] = values
                step = np.broadcast_to(
                    domain.evaluate(f, mapping, env)[0] / domain.evaluate(fy, mapping, env)[0], values.shape
                )
                values = values - step
            env[y] = values
            residual, scale = (np.broadcast_to(v, values.shape) for v in domain.evaluate(f, mapping, env))
            return np.isfinite(values) & np.isfinite(step) & (np.abs(residual) <= 1e-9 * np.maximum(scale, 1e-300))

    return project


def _mistake(problem: _Problem, sample, bad) -> dict | None:
    """The likely mistake in a first derivative or in the first wrong part of a gradient that has one."""
    if problem.kind not in ("derivative", "gradient") or problem.order != 1:
        return None
    from gradcli.grading.mistakes import name_mistake

    for name, answer in zip(problem.wrt, problem.answers, strict=True):
        mistake = name_mistake(problem.tree, name, answer, problem.symbolic, sample.env)
        if mistake is not None:
            return mistake
    return None


# ---------------------------------------------------------------- at a point


def _at_point(problem: _Problem, at: dict, rtol, sig_figs) -> CheckResult:
    from gradcli.witnesses.symbolic import _to_float

    values = {n: parse_value(str(at[n]) if not isinstance(at[n], str) else at[n], n) for n in at}
    missing = sorted(set(problem.names) - set(values))
    if missing:
        raise PointError(f"--at needs a value for {', '.join(missing)}")
    extra = sorted(set(values) - set(problem.names))
    if extra:
        raise PointError(f"--at {extra[0]}: '{extra[0]}' is not a variable ({', '.join(problem.names)})")
    if any(v.shape for v in values.values()):
        raise PointError("check --at takes a number for each variable")
    symbolic = problem.symbolic
    subs = symbolic.substitutions(values)
    point = {n: float(values[n].data) for n in problem.names}
    base = {**problem.base(), "at": point}
    if problem.curve is not None:
        residual = _to_float(symbolic.f, subs)
        if not math.isfinite(residual) or abs(residual) > 1e-9 * max(1.0, *(abs(v) for v in point.values())):
            where = ", ".join(f"{n} = {v:g}" for n, v in point.items())
            raise PointError(f"the point {where} is not on the curve {base['expression']} (F = {residual:.6g} there)")
    exact = [_to_float(t, subs) for t in problem.targets]
    why = _undefined_at(symbolic.f, problem.targets, exact, subs)
    if why:
        where = ", ".join(f"{n} = {v:g}" for n, v in point.items())
        return CheckResult(
            **base, verdict="not differentiable", method="at a point", reason=f"{why} at {where}", tolerance=EXACT
        )
    given = [_to_float(a, subs) for a in problem.answers]
    tolerances = [_point_tolerance(t, e, rtol, sig_figs) for t, e in zip(problem.answer_trees, exact, strict=True)]
    ok = all(_within(e, g, tol) for e, g, tol in zip(exact, given, tolerances, strict=True))
    tolerance = min(tolerances, key=lambda t: -(t.atol or 0))
    if ok:
        return CheckResult(
            **base, verdict="correct", method="at a point", reason=f"equal at the point {tolerance.describe()}",
            tolerance=tolerance,
        )  # fmt: skip
    counter = {"at": point, "answer": _shaped(given, problem.shape), "derivative": _shaped(exact, problem.shape)}
    return CheckResult(
        **base,
        verdict="wrong",
        method="at a point",
        reason=f"differs at the point {tolerance.describe()}",
        counterexample=counter,
        tolerance=tolerance,
    )


def _undefined_at(f, targets, exact, subs) -> str | None:
    """Why the derivative does not exist at the point, or None."""
    import sympy

    from gradcli.witnesses.symbolic import _to_float

    if not math.isfinite(_to_float(f, subs)):
        return "the function is not defined (not a finite real number)"
    if not all(math.isfinite(e) for e in exact):
        return "the derivative does not exist (it is not finite)"
    for node in sympy.preorder_traversal(f):
        if isinstance(node, sympy.Abs | sympy.sign | sympy.Heaviside):
            arguments = [node.args[0]]
        elif isinstance(node, sympy.Max | sympy.Min):
            arguments = [a - b for a in node.args for b in node.args if a is not b]
        else:
            continue
        if any(u.free_symbols and abs(_to_float(u, subs)) < 1e-20 for u in arguments) and _jumps(targets, subs):
            return f"the derivative does not exist: {_sstr(node)} has a corner"
    return None


def _jumps(targets, subs) -> bool:
    """At a corner of f, do the one-sided derivatives differ? (x*abs(x) is smooth at 0; abs(x) is not.)"""
    import sympy

    from gradcli.witnesses.symbolic import _to_float

    for symbol, value in subs.items():
        step = sympy.Float("1e-15", 30) * (1 + abs(value))
        for target in targets:
            sides = [_to_float(target, {**subs, symbol: value + sign * step}) for sign in (1, -1)]
            if not all(math.isfinite(v) for v in sides) or abs(sides[0] - sides[1]) > 1e-6 * max(1.0, *map(abs, sides)):
                return True
    return False


def _point_tolerance(tree, exact: float, rtol, sig_figs) -> Tolerance:
    if rtol is not None:
        return Tolerance("relative", rtol=rtol)
    if sig_figs is not None:
        exponent = math.floor(math.log10(abs(exact))) if exact and math.isfinite(exact) else 0
        return Tolerance("significant figures", atol=0.5 * 10.0 ** (exponent - sig_figs + 1), sig_figs=sig_figs)
    number = tree.operand if isinstance(tree, Neg) else tree
    if isinstance(number, Num) and "." in number.text:
        mantissa, _, power = number.text.lower().partition("e")
        decimals = len(mantissa.partition(".")[2]) - int(power or 0)
        return Tolerance("decimals", atol=0.5 * 10.0**-decimals, decimals=decimals)
    return Tolerance("exact", rtol=POINT_RTOL)


def _within(exact: float, given: float, tolerance: Tolerance) -> bool:
    if not (math.isfinite(exact) and math.isfinite(given)):
        return False
    if tolerance.atol is not None:
        return abs(exact - given) <= tolerance.atol * (1 + 1e-9)
    return abs(exact - given) <= tolerance.rtol * max(abs(exact), abs(given)) or abs(exact - given) < 1e-28
