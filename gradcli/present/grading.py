"""check's output: one verdict (check) and a sheet of them (check --file)."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from gradcli.judge.explain import fmt
from gradcli.present.render import _derivation_lines, _width


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


def write_grades(grades, fmt_name: str, out: TextIO) -> None:
    """A GradeSheet (results.grading) as JSON, JSON lines, CSV or one line per row with the summary."""
    counts = grades.summary
    if fmt_name in ("json", "jsonl"):
        document = grades_document(grades)
        out.write(json.dumps(document, indent=None if fmt_name == "jsonl" else 2) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    if fmt_name == "csv":
        writer.writerow(["line", "verdict", "mistake", "expression", "answer", "derivative", "reason", "reading"])
    for g in grades:
        if g.result is None:
            row = [g.line, "invalid", "", "", "", "", g.error, ""]
        else:
            r = g.result
            detail = r.reason
            if r.counterexample:
                detail += "; " + _counter_text(r.counterexample, "the answer gives", "the derivative")
            if r.mistake:
                detail += "; " + r.mistake["message"]
            kind = r.mistake["kind"] if r.mistake else ""
            reading = "; ".join(n.message for n in (*r.reading, *r.answer_reading))
            row = [g.line, r.verdict, kind, r.expression, r.answer, r.derivative, detail, reading]
        if fmt_name == "csv":
            writer.writerow(row)
        elif g.result is None:
            out.write(f"line {row[0]}: invalid: {row[6]}\n")
        else:
            out.write(f"line {row[0]}: {row[1]}: {row[3]} -> {row[4]} ({row[6]})\n")
    if fmt_name != "csv":
        out.write("summary: " + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "mistakes") + "\n")
        if counts["mistakes"]:
            named = ", ".join(f"{n} {_answers(n)} the {kind}" for kind, n in counts["mistakes"].items())
            out.write(f"mistakes: {named}\n")


def _answers(n: int) -> str:
    return "answer got wrong" if n == 1 else "answers got wrong"
