"""One sentence for the student from a check's JSON, and whether the attempt is gradable (counted).

Made from the verdict's data (verdict, reason, counterexample, mistake), in the grader's own words; a
platform shows the sentence as it is. Only "correct" and "wrong" are grades: an undecided check, a
function with no derivative there, or an invalid answer costs the student no attempt.
"""

from __future__ import annotations

GRADED = ("correct", "wrong")


def gradable(check: dict) -> bool:
    return check.get("verdict") in GRADED


def sentence(check: dict) -> str:
    verdict, reason = check.get("verdict"), check.get("reason") or ""
    if verdict == "correct":
        return f"Correct: {check['answer']} is the derivative ({reason})."
    if verdict == "wrong":
        parts = ["Not right"]
        mistake = check.get("mistake")
        if mistake:
            parts.append(mistake["message"].removeprefix("likely mistake: ").join(("likely mistake: ", "")))
        where = check.get("counterexample")
        if where and where.get("at"):
            at = ", ".join(f"{name} = {value:.4g}" for name, value in where["at"].items())
            yours, right = _value(where.get("answer")), _value(where.get("derivative"))
            parts.append(f"at {at} your answer is {yours}, the derivative {right}")
        else:
            parts.append(reason)
        return "; ".join(p for p in parts if p) + "."
    if verdict == "not differentiable":
        return f"The function has no derivative where this is checked ({reason}); this attempt is not counted."
    return f"The grader could not decide ({reason}); this attempt is not counted."


def _value(number) -> str:
    return f"{number:.6g}" if isinstance(number, int | float) else str(number)
