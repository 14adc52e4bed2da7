"""Checking a derivative answer: symbolically first (bounded in time), then at many points of the real domain.

A verdict is "correct", "wrong" (with a counterexample in the domain), "undecided"
(the domain is empty or tiny, or the answer cannot be evaluated: the reason says
which) or, at a requested point, "not differentiable" (exit 3). Every verdict
records the tolerance rule it used (gradcli/domain.py explains the magnitudes):

- exact: sympy proves the difference is 0, or the answer equals the derivative at
  every sample point to rounding error; a difference sympy can state (2e-12*x,
  exp(x)/10**8) is never rounding error. Small is not zero.
- a number answer (at the point, or for a constant derivative) is judged to the instructor's
  tolerance (gradcli/grading/policy.py: relative 1e-3 by default; --rtol, --atol, --sig-figs,
  --decimals); a formula is judged as a formula everywhere, whatever --at says, exactly unless
  --rtol, --atol or --sig-figs is given.

A wrong answer is compared with the derivatives typical mistakes produce
(gradcli/mistakes.py); a mistake is named only when one of them equals it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, PointError
from gradcli.grading import feedback
from gradcli.grading.policy import POINT_RTOL, Policy, within
from gradcli.grading.question import ConstantOfIntegration, _Problem, _problem, _shaped, _sstr
from gradcli.lang.tree import free_names
from gradcli.lang.values import parse_value
from gradcli.results.gradient import json_number
from gradcli.results.grading import EXACT, CheckResult, Tolerance

SIMPLIFY_SECONDS = 3
EXACT_RTOL = tolerance.GRADE_EXACT_RTOL  # rounding error, relative to the size of the terms a value is made from
MIN_POINTS = 10


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
    atol: float | None = None,
    sig_figs: int | None = None,
    decimals: bool = False,
    points: float | None = None,
    partial: float | None = None,
    from_latex: bool = False,
) -> CheckResult:
    """Is `answer` the derivative of `expression`? A list answer is the gradient in --wrt (or alphabetical)
    order, a matrix [[...], [...]] the Hessian; --implicit y checks dy/dx on the curve F = 0. from_latex=True
    reads the expression and the answer as LaTeX (--from-latex); point values never are. The policy
    (grading/policy.py) sets the tolerance of a number answer, the points and the partial credit."""
    policy = Policy.of(rtol, atol, sig_figs, decimals, points, partial)
    try:
        problem = _problem(expression, answer, wrt, order, implicit, direction, from_latex)
    except ConstantOfIntegration as exc:
        return _plus_c(exc, expression, wrt, at, order, implicit, direction, ranges, policy, from_latex)
    if ranges:
        unknown = sorted(set(ranges) - set(problem.names))
        if unknown:
            raise PointError(f"--range {unknown[0]}: '{unknown[0]}' is not a variable ({', '.join(problem.names)})")
    result = _judged(problem, answer, at, ranges or {}, policy)
    return replace(result, points=policy.points, score=policy.score(result.verdict, result.mistake))


def _judged(problem: _Problem, answer: str, at: dict | None, ranges: dict, policy: Policy) -> CheckResult:
    """A number answer is judged as a number (at the point, or against a constant derivative); a formula
    answer as a formula everywhere, whatever the point."""
    numbers = not any(free_names(a) for a in problem.answer_trees)
    if at:
        point, subs, exact = _point(problem, at)
        base = {**problem.base(), "at": point}
        why = _undefined_at(problem.symbolic.f, problem.targets, exact, subs)
        if why:
            where = ", ".join(f"{n} = {v:g}" for n, v in point.items())
            return CheckResult(
                **base, verdict="not differentiable", method="at a point", reason=f"{why} at {where}",
                tolerance=EXACT, feedback=feedback.not_differentiable(point),
            )  # fmt: skip
        if numbers:
            return _numbers(problem, base, answer, exact, subs, policy)
        return _formula_at(problem, ranges, policy, point, subs, exact)
    if numbers:
        constants = _constant_targets(problem)
        if constants is not None:
            return _numbers(problem, problem.base(), answer, constants, {}, policy)
        return _expected_formula(_everywhere(problem, ranges, policy.formula_tolerance()), problem)
    return _everywhere(problem, ranges, policy.formula_tolerance())


def _everywhere(problem: _Problem, ranges: dict, tolerance: Tolerance) -> CheckResult:
    difference = _simplified_difference(problem)
    if difference is not None and all(d == 0 for d in difference):
        return CheckResult(
            **problem.base(), verdict="correct", method="symbolic", reason="sympy simplifies the difference to 0",
            feedback=feedback.correct(),
        )  # fmt: skip
    try:
        return _numerically(problem, difference, ranges, tolerance)
    except LimitError as exc:
        reason = f"sympy could not simplify the difference, and time ran out: {exc.message}"
        return CheckResult(
            **problem.base(), verdict="undecided", method="numeric", reason=reason, feedback=feedback.undecided()
        )


def _formula_at(problem: _Problem, ranges: dict, policy: Policy, point: dict, subs: dict, exact: list) -> CheckResult:
    """A formula with a point: judged everywhere; equal at the point but wrong elsewhere is wrong, and said so."""
    from gradcli.witnesses.symbolic import _to_float

    result = replace(_everywhere(problem, ranges, policy.formula_tolerance()), at=point)
    if result.verdict != "wrong":
        return result
    given = [_to_float(a, subs) for a in problem.answers]
    rounding = Tolerance("exact", rtol=POINT_RTOL)
    if not all(within(e, g, rounding) for e, g in zip(exact, given, strict=True)):
        return result
    where = ", ".join(f"{n} = {v:g}" for n, v in point.items())
    return replace(
        result,
        reason=f"your formula equals the derivative at {where} only; {result.reason}",
        feedback=feedback.wrong(result.counterexample, result.mistake, only_at=point),
    )


def _constant_targets(problem: _Problem) -> list[float] | None:
    """The derivative's value when sympy shows it is a constant, else None."""
    import sympy

    from gradcli.witnesses.symbolic import _to_float, time_limit

    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying"):
            simple = [sympy.simplify(t) for t in problem.targets]
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        return None
    if any(t.free_symbols for t in simple):
        return None
    return [_to_float(t, {}) for t in simple]


def _expected_formula(result: CheckResult, problem: _Problem) -> CheckResult:
    """A number where the derivative depends on the variable: wrong, and the verdict says a formula was expected."""
    if result.verdict != "wrong":
        return result
    names = ", ".join(problem.wrt)
    mistake = {
        "kind": "expected a formula",
        "step": None,
        "message": f"expected a formula: the answer is a number, but the derivative depends on {names}",
        "where": names,
    }
    return replace(
        result,
        reason=f"expected a formula: {result.reason}",
        mistake=mistake,
        feedback=feedback.wrong(result.counterexample, mistake),
    )


def _plus_c(exc, expression, wrt, at, order, implicit, direction, ranges, policy, from_latex) -> CheckResult:
    """An answer with + C: the rest judged with C = 0; a right rest is the named mistake, never a parse error."""
    rest = check(
        expression, exc.without, wrt, at, order=order, implicit=implicit, direction=direction, ranges=ranges,
        rtol=policy.rtol, atol=policy.atol, sig_figs=policy.sig_figs, decimals=policy.decimals,
        points=policy.points, partial=policy.partial, from_latex=from_latex,
    )  # fmt: skip
    if rest.verdict == "not differentiable":
        return replace(rest, answer=exc.answer, answer_reading=exc.reading)
    if rest.verdict == "correct" and exc.additive:
        mistake = {
            "kind": "constant of integration",
            "step": None,
            "message": f"likely mistake: the constant of integration: a derivative has no + {exc.name}",
            "where": exc.name,
        }
        reason = f"the answer is the derivative plus a constant {exc.name}; a derivative has no constant of integration"
        return replace(
            rest, answer=exc.answer, answer_reading=exc.reading, verdict="wrong", reason=reason, mistake=mistake,
            score=policy.score("wrong", mistake), feedback=feedback.wrong(None, mistake),
        )  # fmt: skip
    reason = f"the answer has a constant {exc.name}, and a derivative has none; with {exc.name} = 0: {rest.reason}"
    if rest.verdict == "correct":  # C inside a term (C*x): wrong, but no mistake is proven
        return replace(
            rest, answer=exc.answer, answer_reading=exc.reading, verdict="wrong", reason=reason,
            score=policy.score("wrong", None), feedback=feedback.wrong(None, None),
        )  # fmt: skip
    return replace(rest, answer=exc.answer, answer_reading=exc.reading, reason=reason)


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
            reason = _too_few(sample, problem)
            return CheckResult(
                **base, verdict="undecided", method="numeric", reason=reason, feedback=feedback.undecided()
            )
        with np.errstate(all="ignore"):
            pairs = [
                (domain.evaluate(t, mapping, sample.env), domain.evaluate(a, mapping, sample.env))
                for t, a in zip(problem.targets, problem.answers, strict=True)
            ]
    except domain.NotVectorisable as exc:
        reason = f"sympy could not simplify the difference, and {exc} cannot be evaluated at sample points"
        return CheckResult(**base, verdict="undecided", method="numeric", reason=reason, feedback=feedback.undecided())
    gaps = _gaps(difference if tolerance.rule == "exact" else None, mapping, sample.env)
    n = sample.size
    bad = np.zeros(n, dtype=bool)
    stated = np.zeros(n, dtype=bool)  # where sympy's simplified difference is plainly not 0
    for i, ((d, d_mag), (a, a_mag)) in enumerate(pairs):
        d, d_mag, a, a_mag = (np.broadcast_to(v, (n,)) for v in (d, d_mag, a, a_mag))
        if tolerance.rule == "exact":
            bad |= ~domain.close(d, d_mag, a, a_mag, tolerance.rtol)
        else:
            bad |= ~_close(d, a, tolerance)
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
        return CheckResult(
            **base, verdict="correct", method="numeric", reason=reason, tolerance=tolerance, feedback=feedback.correct()
        )
    i = _confirmed(problem, sample.env, bad, stated, pairs, tolerance)
    if i is None and not bad.any():
        reason = f"equal at all {n} sample points ({where}) {tolerance.describe()}, some checked to 30 digits"
        return CheckResult(
            **base, verdict="correct", method="numeric", reason=reason, tolerance=tolerance, feedback=feedback.correct()
        )
    if i is None:
        reason = (
            f"float64 finds {int(bad.sum())} differing points of {n}, but 30-digit evaluation does not confirm them"
        )
        return CheckResult(
            **base, verdict="undecided", method="numeric", reason=reason, tolerance=tolerance,
            feedback=feedback.undecided(),
        )  # fmt: skip
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
        feedback=feedback.wrong(counter, mistake, tolerance.short() if tolerance.rule != "exact" else ""),
    )


def _close(d, a, tolerance: Tolerance):
    """Within the instructor's relative (or absolute) tolerance; a non-finite value is close to nothing."""
    with np.errstate(all="ignore"):
        gap = np.abs(d - a)
        near = gap <= (tolerance.rtol or 0.0) * np.maximum(np.abs(d), np.abs(a))
        near |= gap <= (tolerance.atol or 0.0)
        return np.isfinite(d) & np.isfinite(a) & near


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
        rtol = tolerance.rtol or 0.0 if tolerance.rule != "exact" else 1e-20
        if gap > rtol * max(abs(exact), abs(given)) and gap > (tolerance.atol or 0.0):
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


def explained_by_rule(problem: _Problem, env: dict) -> bool:
    """Does a misapplied rule give the (one) answer at these points? (exp(2x) for exp(2x) is the chain rule.)"""
    from gradcli.grading.mistakes import explained

    return explained(problem.tree, problem.wrt[0], problem.answers[0], problem.symbolic, env)


def _mistake(problem: _Problem, sample, bad) -> dict | None:
    """The likely mistake in a first derivative or in the first wrong part of a gradient that has one."""
    from gradcli.grading.mistakes import _same, name_mistake

    if problem.kind == "derivative" and not (problem.order == 1 and explained_by_rule(problem, sample.env)):
        import sympy

        symbols = problem.symbolic.symbols
        lower = sympy.diff(problem.symbolic.f, symbols[problem.wrt[0]], problem.order - 1)
        mapping = {s: n for n, s in symbols.items()}
        with np.errstate(all="ignore"):
            if _same(problem.answers[0], lower, mapping, sample.env):
                return _lower_mistake(problem, problem.wrt[0], at_point=False)
    if problem.kind not in ("derivative", "gradient") or problem.order != 1:
        return None
    for name, answer in zip(problem.wrt, problem.answers, strict=True):
        mistake = name_mistake(problem.tree, name, answer, problem.symbolic, sample.env)
        if mistake is not None:
            return mistake
    return None


# ---------------------------------------------------------------- at a point


def _point(problem: _Problem, at: dict):
    """The point (name -> float), its 30-digit substitutions and the derivatives' values there."""
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
    if problem.curve is not None:
        residual = _to_float(symbolic.f, subs)
        if not math.isfinite(residual) or abs(residual) > 1e-9 * max(1.0, *(abs(v) for v in point.values())):
            where = ", ".join(f"{n} = {v:g}" for n, v in point.items())
            expression = problem.base()["expression"]
            raise PointError(f"the point {where} is not on the curve {expression} (F = {residual:.6g} there)")
    return point, subs, [_to_float(t, subs) for t in problem.targets]


def _numbers(problem: _Problem, base: dict, answer: str, exact: list, subs: dict, policy: Policy) -> CheckResult:
    """A number answer (at the point, or for a constant derivative), judged to the policy's tolerance."""
    from gradcli.witnesses.symbolic import _to_float

    given = [_to_float(a, subs) for a in problem.answers]
    written = _written(answer, len(given))
    tolerances = [policy.number_tolerance(w, e) for w, e in zip(written, exact, strict=True)]
    ok = all(within(e, g, tol) for e, g, tol in zip(exact, given, tolerances, strict=True))
    tolerance = min(tolerances, key=lambda t: -(t.atol or 0))
    point = base.get("at") or {}
    method = "at a point" if point else "symbolic"
    if ok:
        reason = f"equal {'at the point' if point else 'to the constant derivative'} {tolerance.describe()}"
        return CheckResult(
            **base, verdict="correct", method=method, reason=reason, tolerance=tolerance, feedback=feedback.correct()
        )
    counter = {"at": point, "answer": _shaped(given, problem.shape), "derivative": _shaped(exact, problem.shape)}
    mistake = _number_mistake(problem, subs, given, tolerances) if point else None
    return CheckResult(
        **base,
        verdict="wrong",
        method=method,
        reason=f"differs {'at the point' if point else 'from the constant derivative'} {tolerance.describe()}",
        counterexample=counter,
        tolerance=tolerance,
        mistake=mistake,
        feedback=feedback.wrong(counter, mistake, tolerance.short() if tolerance.rule != "exact" else ""),
    )


def _written(answer: str, count: int) -> list[str]:
    """Each number of the answer as the student wrote it (trailing zeros count), for --decimals."""
    parts = answer.replace("[", " ").replace("]", " ").split(",")
    return [p.strip() for p in parts] if len(parts) == count else [""] * count


def _number_mistake(problem: _Problem, subs: dict, given: list, tolerances: list) -> dict | None:
    """The value of f, or of the derivative one order lower, given at the point: named when the number
    matches it to the policy's tolerance (and, being wrong, differs from the derivative)."""
    if problem.kind != "derivative" or len(given) != 1:
        return None
    import sympy

    from gradcli.grading.mistakes import explained
    from gradcli.witnesses.symbolic import _to_float

    f, name = problem.symbolic.f, problem.wrt[0]
    lower = sympy.diff(f, problem.symbolic.symbols[name], problem.order - 1)
    if not within(_to_float(lower, subs), given[0], tolerances[0]):
        return None
    if problem.order == 1:
        env = {n: np.array([float(v)]) for n, v in zip(problem.names, _values(problem, subs), strict=True)}
        if explained(problem.tree, name, sympy.Float(given[0], 30), problem.symbolic, env):
            return None  # the number is also what a misapplied rule gives there: no guess
    return _lower_mistake(problem, name, at_point=True)


def _values(problem: _Problem, subs: dict) -> list[float]:
    return [float(subs[problem.symbolic.symbols[n]]) for n in problem.names]


def _lower_mistake(problem: _Problem, name: str, at_point: bool) -> dict:
    value = " at the point" if at_point else ""
    if problem.order == 1:
        text = f"likely mistake: the function itself: the answer is the function{value}, not its derivative"
        return {"kind": "function itself", "step": None, "message": text, "where": None}
    text = f"likely mistake: the lower order: the answer is derivative {problem.order - 1}{value}, not {problem.order}"
    return {"kind": "lower order", "step": None, "message": text, "where": None}


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
