"""check's output: one verdict (check) and a sheet of them (check --file)."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from gradcli.judge.explain import fmt
from gradcli.present.render import _derivation_lines, _width
from gradcli.results.gradient import json_number


def write_check(result, fmt_name: str, out: TextIO) -> None:
    if fmt_name in ("json", "jsonl"):
        indent = None if fmt_name == "jsonl" else 2
        out.write(json.dumps(result.to_dict(), indent=indent) + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True, width=_width(out))
    style = {"correct": "bold green", "wrong": "bold red"}.get(result.verdict, "bold yellow")
    console.print(Text(f"{result.verdict.upper()}: {_check_what(result)} of {result.expression}", style=style))
    console.print(Text(f"  your answer:    {result.answer}"))
    console.print(Text(f"  the derivative: {result.derivative}"))
    console.print(Text(f"  how: {result.method}: {result.reason}"))
    if result.counterexample:
        console.print(Text(f"  {_counter_text(result.counterexample, 'your answer gives', 'the derivative is')}"))
    if result.mistake:
        console.print(Text(f"  {result.mistake['message']}", style="bold"))
    if result.feedback and not result.correct:
        console.print(Text(f"  for the student: {result.feedback}"))
    _derivation_lines(console, result)


def _check_what(result) -> str:
    wrt = ", ".join(result.wrt)
    return {
        "gradient": f"the gradient ({wrt})",
        "hessian": f"the Hessian ({wrt})",
        "implicit": f"the implicit derivative with respect to {wrt}",
        "directional": f"the directional derivative in ({wrt})",
    }.get(result.kind, f"d/d{wrt}" if result.order == 1 else f"d{result.order}/d{wrt}{result.order}")


def _counter_text(counter: dict, answer: str, derivative: str) -> str:
    point = ", ".join(f"{n} = {fmt(v)}" for n, v in counter["at"].items())
    where = f"at {point} " if point else ""
    return f"{where}{answer} {fmt(counter['answer'])}; {derivative} {fmt(counter['derivative'])}"


def grades_document(grades) -> dict:
    """The JSON document of check --file: the summary and each row."""
    return grades.to_dict()


SHEET = (
    "line", "verdict", "score", "points", "expression", "answer", "read_as", "derivative", "mistake", "feedback",
    "reason", "reading",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula (OWASP CSV injection)


def write_grades(grades, fmt_name: str, out: TextIO) -> None:
    """A GradeSheet (results.grading) as JSON, JSON lines (one row a line, then the summary), the CSV grade
    sheet, or one line per row with the summary."""
    counts = grades.summary
    if fmt_name == "json":
        out.write(json.dumps(grades_document(grades), indent=2) + "\n")
        return
    if fmt_name == "jsonl":
        for g in grades:
            out.write(json.dumps(g.to_dict()) + "\n")
        out.write(json.dumps({"summary": counts}) + "\n")
        return
    if fmt_name == "csv":
        _write_sheet(grades, out)
        return
    for g in grades:
        if g.result is None:
            out.write(f"line {g.line}: invalid: {g.error}\n")
        else:
            out.write(f"line {g.line}: {g.result.verdict}: {g.result.expression} -> {g.result.answer} ({_detail(g)})\n")
    verdicts = ", ".join(f"{v} {k}" for k, v in counts.items() if k not in ("mistakes", "rows"))
    out.write(f"summary: {counts['rows']} {'row' if counts['rows'] == 1 else 'rows'}: {verdicts}\n")
    if counts["mistakes"]:
        named = ", ".join(f"{n} {_answers(n)} the {kind}" for kind, n in counts["mistakes"].items())
        out.write(f"mistakes: {named}\n")


TOTALS = ("student", "rows", "correct", "wrong", "undecided", "not differentiable", "invalid", "score", "points")


def write_totals(totals: list[dict], fmt_name: str, out: TextIO) -> None:
    """Per-student totals (sheet.totals): JSON {"totals": [...]}, JSON lines, CSV or one line per student."""
    if fmt_name in ("json", "jsonl"):
        rows = [{**t, "score": json_number(t["score"]), "points": json_number(t["points"])} for t in totals]
        if fmt_name == "json":
            out.write(json.dumps({"totals": rows}, indent=2) + "\n")
        for row in rows if fmt_name == "jsonl" else ():
            out.write(json.dumps(row) + "\n")
        return
    if fmt_name == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TOTALS)
        for t in totals:
            writer.writerow(
                [as_text(str(t["student"])), *(t[k] for k in TOTALS[1:-2]), fmt(t["score"]), fmt(t["points"])]
            )
        return
    for t in totals:
        counts = ", ".join(f"{t[k]} {k}" for k in TOTALS[2:-2] if t[k])
        out.write(f"{t['student']}: {fmt(t['score'])} of {fmt(t['points'])} points ({t['rows']} rows: {counts})\n")


def _write_sheet(grades, out: TextIO) -> None:
    """The grade sheet: the line, the row's own other columns (student, section, ...), then SHEET; every
    cell a spreadsheet would run as a formula is written as text."""
    extra = list(dict.fromkeys(name for g in grades for name, _ in g.columns))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([SHEET[0], *extra, *SHEET[1:]])
    for g in grades:
        own = dict(g.columns)
        r = g.result
        if r is None:
            cells = ["invalid", "", "", "", g.text or "", "", "", "", "", g.error, ""]
        else:
            score = "" if r.score is None else fmt(r.score)
            kind = r.mistake["kind"] if r.mistake else ""
            written = g.text if g.text is not None else r.answer
            cells = [r.verdict, score, fmt(r.points), r.expression, written, r.answer, r.derivative, kind, r.feedback]
            cells.append(_detail(g))
            cells.append("; ".join(n.message for n in (*r.reading, *r.answer_reading)))  # how it was read
        writer.writerow([g.line, *(as_text(own.get(name, "")) for name in extra), *map(as_text, cells)])


def as_text(cell: str) -> str:
    """A cell shown as text by a spreadsheet: one that would start a formula gets a leading single quote."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _detail(g) -> str:
    r = g.result
    detail = r.reason
    if r.counterexample:
        detail += "; " + _counter_text(r.counterexample, "the answer gives", "the derivative")
    if r.mistake:
        detail += "; " + r.mistake["message"]
    return detail


def _answers(n: int) -> str:
    return "answer got wrong" if n == 1 else "answers got wrong"
