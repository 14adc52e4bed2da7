"""Two course platforms' shapes around one check: PrairieLearn's external grader and edX's xqueue.

Each platform reads its own request into the fields of a check (`read`, Refused when the platform's request
is malformed, a 400) and writes the check's JSON in its own result format (`write`):

- PrairieLearn (docs/externalGrading.md, "Grading results"): the question's data.json in, with the problem in
  `params` and the student's answer in `submitted_answers`; results.json out: `gradable`, `score` in [0, 1]
  (only when gradable), `message`, `format_errors` for an answer that is not gradable, and one entry in `tests`.
- edX xqueue (a passive grader): the submission xqueue pushes, whose `xqueue_body` (a JSON text or object)
  holds `student_response` and the problem's `grader_payload` (a JSON text or object); out `{correct, score, msg}`
  with `msg` as HTML.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from gradcli.serve.requests import Refused, fields

PROBLEM = ("expression", "wrt", "at", "order")


def _object(value, what: str) -> dict:
    """A platform field that may arrive as a JSON object or as JSON text (xqueue sends text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Refused(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(f"{what} must be a JSON object")
    return value


def _check_fields(problem: dict, answer, where: str) -> dict:
    extra = sorted(set(problem) - set(PROBLEM))
    if extra:
        raise Refused(f"{where} does not take {', '.join(repr(e) for e in extra)}")
    if not isinstance(answer, str):
        raise Refused("the student's answer must be text")
    return fields("check", {**problem, "answer": answer})


# ---------------------------------------------------------------- PrairieLearn


def read_prairielearn(body: dict) -> dict:
    params = _object(body.get("params"), "params")
    answers = _object(body.get("submitted_answers"), "submitted_answers")
    if "answer" not in answers:
        raise Refused("submitted_answers has no 'answer'")
    return _check_fields(params, answers["answer"], "params")


def write_prairielearn(check: dict) -> dict:
    message = check["feedback"]
    if not check["gradable"]:
        errors = [message] if check.get("verdict") == "invalid" else []
        return {"gradable": False, "message": message, "format_errors": errors, "tests": []}
    points = 1 if check["verdict"] == "correct" else 0
    test = {"name": "derivative", "description": "the answer is the derivative", "points": points, "max_points": 1}
    return {"gradable": True, "score": float(points), "message": message, "tests": [{**test, "message": message}]}


# ---------------------------------------------------------------- edX xqueue


def read_xqueue(body: dict) -> dict:
    submission = _object(body.get("xqueue_body"), "xqueue_body")
    payload = _object(submission.get("grader_payload"), "grader_payload")
    if "student_response" not in submission:
        raise Refused("xqueue_body has no student_response")
    return _check_fields(payload, submission["student_response"], "grader_payload")


def write_xqueue(check: dict) -> dict:
    correct = check["verdict"] == "correct"
    return {"correct": correct, "score": 1.0 if correct else 0.0, "msg": f"<p>{escape(check['feedback'])}</p>"}


@dataclass(frozen=True)
class Platform:
    read: Callable[[dict], dict]
    write: Callable[[dict], dict]


PLATFORMS = {
    "prairielearn": Platform(read_prairielearn, write_prairielearn),
    "xqueue": Platform(read_xqueue, write_xqueue),
}
