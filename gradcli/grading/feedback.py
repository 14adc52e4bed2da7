"""The one sentence a student reads: plain words, the numbers that matter, and what to look at again.

Made from the facts of a verdict (the point, the two values, the tolerance, the named mistake), never
from the technical reason, which stays in the JSON for the instructor.
"""

from __future__ import annotations

import math

_HINTS = {
    "chain rule": "check the chain rule on {where}",
    "product rule": "check the product rule on {where}",
    "quotient rule": "check the quotient rule on {where}",
    "power rule": "check the power rule on {where}: the exponent goes down by 1",
    "trig sign": "check the sign of the derivative of {where}",
    "exponential": "check the derivative of {where}: it is not a power, it needs a factor ln of the base",
    "log base": "check the base of the logarithm in {where}",
    "constant factor": "keep the constant factor in {where}",
    "antiderivative": "the derivative of your answer is the function itself, so you found an antiderivative",
    "sign": "check the sign of your whole answer",
    "function itself": "your answer is the function itself, not its derivative",
    "lower order": "your answer is the derivative one order lower than the one asked for",
    "constant of integration": "a derivative has no + C (that constant belongs to antiderivatives), so leave it out",
    "expected a formula": "the derivative changes with {where}, so the answer is a formula in {where}, not a number",
}


def hint(mistake: dict | None) -> str:
    if not mistake:
        return ""
    return _HINTS.get(mistake["kind"], "").format(where=mistake.get("where") or "")


def correct() -> str:
    return "Correct."


def wrong(counter: dict | None, mistake: dict | None, within: str = "", only_at: dict | None = None) -> str:
    """Wrong: where the answer and the derivative part (and by how much they may), and the mistake's hint."""
    if mistake and mistake["kind"] in ("expected a formula", "constant of integration"):
        return f"Not quite: {hint(mistake)}."
    text = f"Your formula equals the derivative at {_point(only_at)} only" if only_at else ""
    if counter:
        answer, derivative = _pair(counter["answer"], counter["derivative"])
        where = f"at {_point(counter['at'])} " if counter.get("at") else ""
        gap = f"{where}your answer gives {answer} but the derivative is {derivative}"
        gap += f" (not {within})" if within else ""
        text = f"{text}: {gap}" if text else gap
    text = text or "Not quite"
    if mistake:
        text += f"{'; ' if only_at else ': '}{hint(mistake)}"
    return text[0].upper() + text[1:] + "."


def undecided() -> str:
    return "This answer could not be graded automatically; your instructor will look at it."


def not_differentiable(at: dict) -> str:
    return f"The function has no derivative at {_point(at)}, so there is no value to give there."


def _point(at: dict) -> str:
    return ", ".join(f"{n} = {_number(v)}" for n, v in at.items())


def _number(value, digits: int = 4) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_number(v, digits) for v in value) + "]"
    if isinstance(value, str) or not math.isfinite(value):
        return "undefined"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def _pair(answer, derivative) -> tuple[str, str]:
    """The two values with just enough digits to tell them apart."""
    for digits in range(3, 13):
        a, d = _number(answer, digits), _number(derivative, digits)
        if a != d:
            return a, d
    return _number(answer, 12), _number(derivative, 12)
