"""Checking a derivative answer: symbolically first (bounded in time), then at many sample points.

A verdict is "correct", "wrong" (with a counterexample) or "undecided" (with the
reason), never a silent guess. Answers that agree on part of the domain only
(the derivative of sqrt(x**2) answered as 1) are wrong, and the counterexample
lies in the part where they differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gradcli.errors import ExitCode, LimitError, ParseError, PointError
from gradcli.expr import ListOf, free_names, inline, parse, parse_program, to_text
from gradcli.points import parse_value
from gradcli.result import json_number

SAMPLES = 200
SIMPLIFY_SECONDS = 3
RTOL, ATOL = 1e-7, 1e-9


@dataclass(frozen=True)
class CheckResult:
    expression: str
    answer: str
    wrt: tuple[str, ...]
    derivative: str
    verdict: str  # "correct", "wrong" or "undecided"
    method: str  # "symbolic", "numeric" or "at a point"
    reason: str
    counterexample: dict | None = None
    at: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)  # with --steps
    latex: dict = field(default_factory=dict)  # with --latex

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.correct else ExitCode.DISAGREE

    def to_dict(self) -> dict:
        return {
            "correct": self.correct,
            "verdict": self.verdict,
            "expression": self.expression,
            "wrt": list(self.wrt),
            "derivative": self.derivative,
            "answer": self.answer,
            "method": self.method,
            "reason": self.reason,
            "counterexample": self.counterexample,
            "at": {n: json_number(v) for n, v in self.at.items()},
            **({"steps": {n: [s.to_dict() for s in st] for n, st in self.steps.items()}} if self.steps else {}),
            **({"latex": self.latex} if self.latex else {}),
        }


def check(expression: str, answer: str, wrt: list[str] | None = None, at: dict | None = None) -> CheckResult:
    """Is `answer` the derivative of `expression`? A list answer is the gradient in --wrt (or alphabetical) order."""
    from gradcli.symbolic import Symbolic

    tree = _target(expression)
    names = sorted(free_names(tree))
    if not names:
        raise ParseError("the expression has no variables to differentiate")
    wrt = list(wrt or names)
    for name in wrt:
        if name not in names:
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(names)})")
    answers = _answers(answer, wrt, names)
    symbolic = Symbolic(tree, {n: () for n in names})
    derivatives = [symbolic.derivative(n) for n in wrt]
    shown = _shown(derivatives)
    answer_exprs = [_sympy_of(a, symbolic) for a in answers]
    base = {"expression": to_text(tree), "answer": _answer_text(answers), "wrt": tuple(wrt), "derivative": shown}
    if at:
        return _at_point(base, symbolic, names, derivatives, answer_exprs, at)
    if _symbolically_equal(derivatives, answer_exprs):
        return CheckResult(**base, verdict="correct", method="symbolic", reason="sympy simplifies the difference to 0")
    return _numerically(base, symbolic, names, derivatives, answer_exprs)


def _target(expression: str):
    steps = inline(parse_program(expression))
    return steps[list(steps)[-1]]


def _answers(answer: str, wrt: list[str], names: list[str]):
    try:
        tree = parse(answer, allow_lists=True)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"in the answer: {exc.message}", exc.column, exc.hint) from exc
    items = list(tree.items) if isinstance(tree, ListOf) else [tree]
    if any(isinstance(item, ListOf) for item in items):
        raise ParseError("in the answer: a gradient is one flat list, e.g. [2*x + y, x + 2*y]")
    if len(items) != len(wrt):
        raise PointError(
            f"the answer has {len(items)} part(s) but there are {len(wrt)} derivative(s) to check "
            f"(with respect to {', '.join(wrt)}): give a list in that order, or --wrt"
        )
    unknown = sorted(set().union(*(free_names(i) for i in items)) - set(names))
    if unknown:
        raise ParseError(f"in the answer: {', '.join(unknown)} is not a variable of the expression")
    return items


def _answer_text(answers) -> str:
    return to_text(answers[0]) if len(answers) == 1 else "[" + ", ".join(map(to_text, answers)) + "]"


def _shown(derivatives) -> str:
    import sympy

    texts = [sympy.sstr(d) for d in derivatives]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _sympy_of(tree, symbolic):
    from gradcli.expr import evaluate
    from gradcli.symbolic import SympyBackend

    return evaluate(tree, symbolic.symbols, SympyBackend())


def _symbolically_equal(derivatives, answers) -> bool:
    import sympy

    from gradcli.symbolic import time_limit

    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying"):
            return all(sympy.simplify(d - a) == 0 for d, a in zip(derivatives, answers, strict=True))
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        return False


def _numerically(base, symbolic, names, derivatives, answers) -> CheckResult:
    """Compare at random points of the real domain; the worst disagreement is the counterexample."""
    from gradcli.symbolic import NotVectorisable, to_numpy

    rng = np.random.default_rng(0)
    env = {n: np.concatenate([rng.uniform(-3, 3, SAMPLES // 2), rng.uniform(0.05, 3, SAMPLES // 2)]) for n in names}
    mapping = {symbolic.symbols[n]: n for n in names}
    try:
        with np.errstate(all="ignore"):
            pairs = [
                (
                    np.broadcast_to(to_numpy(d, mapping)(env), (SAMPLES,)),
                    np.broadcast_to(to_numpy(a, mapping)(env), (SAMPLES,)),
                )
                for d, a in zip(derivatives, answers, strict=True)
            ]
    except NotVectorisable as exc:
        return CheckResult(**base, verdict="undecided", method="numeric", reason=f"cannot evaluate {exc} numerically")
    valid = np.ones(SAMPLES, dtype=bool)
    for d, _ in pairs:
        valid &= np.isfinite(d)
    if valid.sum() < 10:
        reason = (
            "sympy could not simplify the difference, and fewer than 10 sample points are in the derivative's domain"
        )
        return CheckResult(**base, verdict="undecided", method="numeric", reason=reason)
    bad = np.zeros(SAMPLES, dtype=bool)
    for d, a in pairs:
        with np.errstate(all="ignore"):
            bad |= valid & ~(np.isfinite(a) & (np.abs(d - a) <= ATOL + RTOL * np.maximum(np.abs(d), np.abs(a))))
    if not bad.any():
        reason = f"equal at all {int(valid.sum())} sample points in the derivative's domain (sympy could not simplify)"
        return CheckResult(**base, verdict="correct", method="numeric", reason=reason)
    i = int(np.nonzero(bad)[0][0])
    counter = {
        "at": {n: float(env[n][i]) for n in names},
        "answer": [json_number(a[i]) for _, a in pairs] if len(pairs) > 1 else json_number(pairs[0][1][i]),
        "derivative": [json_number(d[i]) for d, _ in pairs] if len(pairs) > 1 else json_number(pairs[0][0][i]),
    }
    reason = f"differs at {int(bad.sum())} of {int(valid.sum())} sample points{_region(env, names, bad, valid)}"
    return CheckResult(**base, verdict="wrong", method="numeric", reason=reason, counterexample=counter)


def _region(env, names, bad, valid) -> str:
    """Name the part of the domain where they differ, when it is one side of 0 for some variable."""
    agree = valid & ~bad
    for n in names:
        if np.all(env[n][bad] < 0) and np.all(env[n][agree] > 0):
            return f", all with {n} < 0 (it agrees where {n} > 0)"
        if np.all(env[n][bad] > 0) and np.all(env[n][agree] < 0):
            return f", all with {n} > 0 (it agrees where {n} < 0)"
    return ""


def _at_point(base, symbolic, names, derivatives, answers, at) -> CheckResult:
    from gradcli.symbolic import _to_float

    values = {n: parse_value(str(at[n]) if not isinstance(at[n], str) else at[n], n) for n in at}
    missing = sorted(set(names) - set(values))
    if missing:
        raise PointError(f"--at needs a value for {', '.join(missing)}")
    subs = symbolic.substitutions(values)
    exact = [_to_float(d, subs) for d in derivatives]
    given = [_to_float(a, subs) for a in answers]
    point = {n: float(values[n].data) for n in names}
    ok = all(
        math.isfinite(e) and math.isfinite(g) and abs(e - g) <= ATOL + RTOL * max(abs(e), abs(g))
        for e, g in zip(exact, given, strict=True)
    )
    if ok:
        return CheckResult(**base, verdict="correct", method="at a point", reason="equal at the point", at=point)
    counter = {
        "at": point,
        "answer": given[0] if len(given) == 1 else given,
        "derivative": exact[0] if len(exact) == 1 else exact,
    }
    return CheckResult(
        **base, verdict="wrong", method="at a point", reason="differs at the point", counterexample=counter, at=point
    )


@dataclass(frozen=True)
class Grade:
    """One row of a class's answers file: its verdict, or why the row could not be graded."""

    line: int
    result: CheckResult | None
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return int(ExitCode.INVALID_INPUT if self.result is None else self.result.exit_code)

    def to_dict(self) -> dict:
        if self.result is None:
            return {"line": self.line, "error": self.error, "exit_code": self.exit_code}
        return {"line": self.line, **self.result.to_dict()}


def grade_file(lines) -> list[Grade]:
    """Columns expression, wrt, answer and optional at (name=value,...); every row graded, bad rows reported."""
    import csv

    from gradcli.errors import GradcliError
    from gradcli.points import split_assignments

    reader = csv.DictReader(lines)
    needed = {"expression", "answer"}
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise PointError(f"the answers file's header is not CSV: {exc}") from exc
    if header is None or not needed <= {f.strip() for f in header}:
        raise PointError("the answers file needs a header with expression, wrt, answer (and optionally at)")
    grades = []
    for number, row in _rows(reader):
        missing = sum(v is None for k, v in row.items() if k is not None)
        cells = len(header) - missing + len(row.get(None) or ())
        if cells != len(header):
            message = f"{cells} cells for the {len(header)} columns ({', '.join(header)}); quote a cell with a comma"
            grades.append(Grade(number, None, message))
            continue
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        try:
            wrt = [w for w in row.get("wrt", "").replace(";", ",").split(",") if w.strip()] or None
            point = dict(split_assignments(row["at"])) if row.get("at") else None
            grades.append(Grade(number, check(row["expression"], row["answer"], wrt, point)))
        except GradcliError as exc:
            grades.append(Grade(number, None, exc.describe()))
    return grades


def _rows(reader):
    """(line number, row) of a csv.DictReader; a row csv cannot split ends the file with its line named."""
    import csv

    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise PointError(f"line {reader.line_num}: not CSV: {exc}") from exc
        yield reader.line_num, row
