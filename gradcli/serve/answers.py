"""The API's answers, computed in a warm child: checked fields in, (HTTP status, JSON body) out.

Each answer is a library call (gradcli.grad, derivative, check, the plot's curve) whose result's to_dict()
is the body, so the API says what `--format json` says. A GradcliError is the same refusal as on the
command line, as JSON with a 400. A request that runs past its soft deadline (the whole request's wall
time, less a margin for the reply) is answered as "took too long"; the server kills the child if even
that answer does not come.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

from gradcli.errors import GradcliError, LimitError
from gradcli.serve import adapters, feedback, mathml
from gradcli.serve.requests import Refused

TOO_LONG = "took too long"


class _Late(Exception):
    """The soft deadline passed."""


@contextmanager
def _deadline(at: float):
    """Raise _Late when time.monotonic() passes `at`, through sympy's own nested limits (which keep it)."""
    from gradcli.witnesses.symbolic import time_limit

    left = at - time.monotonic()
    if left <= 0:
        raise _Late
    try:
        with time_limit(left, "answering this request"):
            yield
    except LimitError:
        if time.monotonic() >= at - 0.01:
            raise _Late from None
        raise


def answer(endpoint: str, fields: dict, deadline: float) -> tuple[int, dict]:
    """The status and body for one checked request, by `deadline` (time.monotonic())."""
    try:
        if endpoint == "check/batch":
            return 200, {"results": _batch(fields["items"], deadline)}
        if endpoint in ("check", "adapters/prairielearn", "adapters/xqueue"):
            return 200, _graded(endpoint, fields, deadline)
        with _deadline(deadline):
            return 200, _ANSWERS[endpoint](**fields)
    except _Late:
        return 422, {"message": f"{TOO_LONG}: this request ran past its time limit", "position": None}
    except Refused as exc:
        return exc.status, exc.to_dict()
    except GradcliError as exc:
        return 400, refusal(exc)
    except RecursionError:
        return 400, {"message": "the expression is nested too deeply to work on; nest it less", "position": None}


def refusal(exc: GradcliError) -> dict:
    """The command line's `error:` line as the API's JSON: the position apart from the sentence."""
    text = exc.message + (f": {exc.hint}" if exc.hint else "")
    return {"message": text, "position": exc.column}


# ---------------------------------------------------------------- validate


def validate(expression: str, latex: bool) -> dict:
    from gradcli.lang.parser import parse_reading
    from gradcli.lang.printers import to_latex, to_text
    from gradcli.lang.tree import free_names

    tree, notes = parse_reading(expression, latex=latex)
    return {
        "input": expression,
        "expression": to_text(tree),
        "latex": to_latex(tree),
        "mathml": mathml.of_tree(tree),
        "variables": sorted(free_names(tree)),
        "reading": [note.to_dict() for note in notes],
    }


# ---------------------------------------------------------------- grad and derivative


def grad(expression: str, at: dict | None, wrt: list[str] | None, order: int, steps: bool) -> dict:
    import gradcli

    if at is None:
        result = gradcli.derivative(expression, wrt=wrt, order=order)
        body, agree, formulas = result.to_dict(), result.status == "agree", result.derivative
    else:
        result = gradcli.grad(expression, at=at, wrt=wrt, order=order)
        body, agree = result.to_dict(), result.exit_code == 0
        formulas = {p.name: p.symbolic for p in result.results[0].gradient}
    body["mathml"] = mathml.of_derivatives(formulas)
    if steps:
        if order != 1:
            raise Refused("steps are for first derivatives (order 1)")
        body.update(_steps(expression, list(formulas), agree))
    return body


def derivative(expression: str, wrt: list[str] | None, order: int) -> dict:
    return grad(expression, None, wrt, order, steps=False)


def _steps(expression: str, names: list[str], agree: bool) -> dict:
    """The derivation, shown only when it ends at the derivative the three witnesses agree on."""
    import sympy

    from gradcli.grading.steps import derive
    from gradcli.lang.parser import parse
    from gradcli.witnesses.symbolic import Symbolic

    if not agree:
        return {"steps_withheld": "the three methods do not agree here, so no derivation is shown"}
    tree = parse(expression)
    symbolic = Symbolic(tree, dict.fromkeys(names, ()))
    shown = []
    for name in names:
        derivation, final = derive(tree, name)
        if sympy.simplify(final - symbolic.derivative(name)) != 0:
            return {"steps_withheld": f"the derivation in {name} does not end at the checked derivative"}
        for step in derivation:
            what = step.expression if step.expression.startswith("d/d") else f"d/d{name} {step.expression}"
            shown.append({"text": f"{step.rule}: {what} = {step.derivative}", "latex": step.latex})
    return {"steps": shown}


# ---------------------------------------------------------------- plot


def plot(expression: str, range: list[float], at: float | None, n: int) -> dict:  # noqa: A002 - the API's name
    import gradcli
    from gradcli.present.pictures import curve, parse_range

    lo, hi = parse_range(f"{range[0]!r}:{range[1]!r}")  # the CLI's checks of --range
    c = curve(expression, lo, hi, samples=n)
    notes = [{"kind": m.kind, "message": f"{m.what} at x = {m.x:.6g}"} for m in c.marks]
    tangent = None
    if at is not None:
        point = gradcli.grad(expression, at={c.variable: at}).results[0]
        slope = point.gradient[0].exact
        if point.differentiable and _finite(point.value) and _finite(slope):
            tangent = {"at": at, "f": float(point.value), "slope": float(slope)}
        else:
            message = "; ".join(n.message for n in point.notes) or "f has no finite derivative here"
            notes.append({"kind": "no_tangent", "message": f"no tangent line at x = {at:g}: {message}"})
    return {
        "expression": c.expression,
        "variable": c.variable,
        "x": _numbers(c.x),
        "f": _numbers(c.f),
        "df": _numbers(c.tape),
        "tangent": tangent,
        "notes": notes,
    }


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _numbers(array) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in array.tolist()]


_ANSWERS = {"validate": validate, "grad": grad, "derivative": derivative, "plot": plot}


# ---------------------------------------------------------------- check, batches and the platforms


def check(expression: str, answer: str, at: dict | None, wrt: list[str] | None, order: int) -> dict:
    import gradcli

    result = gradcli.check(expression, answer, wrt=wrt, at=at, order=order)
    body = result.to_dict()
    # The grader's own sentence for the student (CheckResult.feedback) where it has one: one source of it.
    return {**body, "gradable": feedback.gradable(body), "feedback": body.get("feedback") or feedback.sentence(body)}


def too_long(item: dict) -> dict:
    """The answer to a check that ran past its time: undecided, not gradable, in the grader's shape."""
    return {
        "correct": False,
        "verdict": "undecided",
        "expression": item.get("expression"),
        "answer": item.get("answer"),
        "reason": TOO_LONG,
        "exit_code": 1,
        "gradable": False,
        "feedback": f"{TOO_LONG}: the grader could not decide in time; this attempt is not counted",
    }


def invalid(message: str, position: int | None) -> dict:
    """A check whose input the grader refuses: not gradable, and the refusal as the student's feedback."""
    return {"verdict": "invalid", "gradable": False, "feedback": message, "message": message, "position": position}


def _one_check(item: dict, deadline: float) -> dict:
    try:
        with _deadline(deadline):
            body = check(**item)
        return _late_undecided(body, item, deadline)
    except GradcliError as exc:
        return invalid(**refusal(exc))
    except RecursionError:
        return invalid("the expression is nested too deeply to work on; nest it less", None)


def _late_undecided(body: dict, item: dict, deadline: float) -> dict:
    """An undecided check whose time ran out inside the grader (which catches the limit itself) is "took too
    long", as when the limit stops it outside."""
    if body.get("verdict") == "undecided" and time.monotonic() >= deadline - 0.01:
        return too_long(item)
    return body


def _graded(endpoint: str, fields: dict, deadline: float) -> dict:
    if endpoint == "check":  # an answer the command line refuses is refused here too (a 400)
        try:
            with _deadline(deadline):
                body = check(**fields)
        except _Late:
            return too_long(fields)
        return _late_undecided(body, fields, deadline)
    platform = adapters.PLATFORMS[endpoint.removeprefix("adapters/")]  # fields: platform.read's, in the server
    try:
        result = _one_check(fields, deadline)
    except _Late:
        result = too_long(fields)
    return platform.write(result)


def _batch(items: list, deadline: float) -> list[dict]:
    """Each item on its own: a bad or slow item never costs the others their answers."""
    results = []
    for item in items:
        if item.get("refused"):  # refused in the server (gradcli.serve.requests): travels as its message
            results.append(invalid(item["message"], item["position"]))
            continue
        try:
            results.append(_one_check(item, deadline))
        except _Late:
            results.append(too_long(item))
    return results
