"""Results of checking answers: a verdict on one answer (CheckResult) and a class file's rows (Grade)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gradcli import tolerance
from gradcli.errors import ExitCode
from gradcli.results.gradient import json_number

VERDICTS = ("correct", "wrong", "undecided", "not differentiable", "invalid")


@dataclass(frozen=True)
class Tolerance:
    rule: str  # "exact", "relative", "absolute", "decimals" or "significant figures"
    rtol: float | None = None
    atol: float | None = None
    decimals: int | None = None
    sig_figs: int | None = None

    def describe(self) -> str:
        if self.rule == "relative":
            within = f"to within {self.rtol * 100:g}% (relative tolerance {self.rtol:g})"
            return within + (f" or {self.atol:g}" if self.atol is not None else "")
        if self.rule == "absolute":
            return f"to within {self.atol:g} (absolute tolerance)"
        if self.rule == "decimals":
            return f"to the {self.decimals} decimal{'s' if self.decimals != 1 else ''} written (--decimals)"
        if self.rule == "significant figures":
            return f"to {self.sig_figs} significant figures (--sig-figs)"
        return "exactly (to rounding error)"

    def short(self) -> str:
        """The tolerance in a student's words: "to within 0.1%"."""
        if self.rule == "relative":
            return f"to within {self.rtol * 100:g}%"
        if self.rule == "absolute":
            return f"to within {self.atol:g}"
        if self.rule == "decimals":
            return f"to {self.decimals} decimal{'s' if self.decimals != 1 else ''}"
        if self.rule == "significant figures":
            return f"to {self.sig_figs} significant figures"
        return "exactly"

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "rtol": self.rtol,
            "atol": json_number(self.atol) if self.atol is not None else None,
            "decimals": self.decimals,
            "sig_figs": self.sig_figs,
        }


EXACT = Tolerance("exact", rtol=tolerance.GRADE_EXACT_RTOL)  # rounding error


@dataclass(frozen=True)
class CheckResult:
    expression: str
    answer: str
    wrt: tuple[str, ...]
    derivative: str
    verdict: str  # "correct", "wrong", "undecided" or "not differentiable"
    method: str  # "symbolic", "numeric" or "at a point"
    reason: str
    counterexample: dict | None = None
    at: dict = field(default_factory=dict)
    kind: str = "derivative"
    order: int = 1
    tolerance: Tolerance = EXACT
    mistake: dict | None = None
    steps: dict = field(default_factory=dict)  # with --steps
    latex: dict = field(default_factory=dict)  # with --latex
    tree: object = field(default=None, compare=False, repr=False)  # the function's tree, for --steps
    points: float = 1.0  # what the problem is worth
    score: float | None = None  # the points earned (None: undecided, the instructor decides)
    feedback: str = ""  # one plain sentence for the student (grading/feedback.py)
    reading: tuple = ()  # of lang.notation.Note: how the expression was read where it could surprise
    answer_reading: tuple = ()  # and how the answer was

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    @property
    def exit_code(self) -> ExitCode:
        if self.verdict == "not differentiable":
            return ExitCode.NOT_DIFFERENTIABLE
        return ExitCode.OK if self.correct else ExitCode.DISAGREE

    def to_dict(self) -> dict:
        return {
            "correct": self.correct,
            "verdict": self.verdict,
            "expression": self.expression,
            "kind": self.kind,
            "order": self.order,
            "wrt": list(self.wrt),
            "derivative": self.derivative,
            "answer": self.answer,
            "reading": [n.to_dict() for n in self.reading],
            "answer_reading": [n.to_dict() for n in self.answer_reading],
            "method": self.method,
            "reason": self.reason,
            "tolerance": self.tolerance.to_dict(),
            "counterexample": self.counterexample,
            "mistake": self.mistake,
            "at": {n: json_number(v) for n, v in self.at.items()},
            "points": json_number(self.points),
            "score": json_number(self.score) if self.score is not None else None,
            "feedback": self.feedback,
            "exit_code": int(self.exit_code),
            **({"steps": {n: [s.to_dict() for s in st] for n, st in self.steps.items()}} if self.steps else {}),
            **({"latex": self.latex} if self.latex else {}),
        }


@dataclass(frozen=True)
class Grade:
    """One row: its verdict, or why the row could not be graded."""

    line: int
    result: CheckResult | None
    error: str | None = None
    code: int = int(ExitCode.INVALID_INPUT)
    columns: tuple[tuple[str, str], ...] = ()  # the row's other columns (student, section, ...), carried through
    text: str | None = None  # the answer as written; for an invalid row, the whole line as written

    @property
    def verdict(self) -> str:
        return self.result.verdict if self.result else "invalid"

    @property
    def exit_code(self) -> int:
        return self.code if self.result is None else int(self.result.exit_code)

    def to_dict(self) -> dict:
        extra = {"columns": dict(self.columns)} if self.columns else {}
        if self.result is None:
            written = {"text": self.text} if self.text is not None else {}
            return {"line": self.line, **extra, "error": self.error, **written, "exit_code": self.exit_code}
        return {"line": self.line, **extra, **self.result.to_dict()}


@dataclass(frozen=True)
class GradeSheet:
    """A class file's grades in line order, with the counts of each verdict and the file's exit code."""

    grades: tuple[Grade, ...]

    def __iter__(self):
        return iter(self.grades)

    def __len__(self) -> int:
        return len(self.grades)

    def __getitem__(self, index: int) -> Grade:
        return self.grades[index]

    @property
    def summary(self) -> dict:
        counts = Counter(g.verdict for g in self.grades)
        mistakes = Counter(g.result.mistake["kind"] for g in self.grades if g.result and g.result.mistake)
        verdicts = {v: counts.get(v, 0) for v in VERDICTS}
        return {**verdicts, "rows": len(self.grades), "mistakes": dict(mistakes.most_common())}

    @property
    def exit_code(self) -> int:
        """The worst row's exit code (0 for a file of correct answers, or of none)."""
        return max((g.exit_code for g in self.grades), default=0)

    def to_dict(self) -> dict:
        return {"summary": self.summary, "rows": [g.to_dict() for g in self.grades]}
