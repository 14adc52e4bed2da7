"""Grading a class's answers file: every data line one row of the sheet, graded or invalid with a hint.

Columns (a header names them, in any order, separated by comma, semicolon or tab):
expression and answer, optionally wrt, at (name=value,...), order and implicit; any
other column (student, section) is carried through to the sheet. A row is never lost
to another: a NUL byte, an over-long line, bytes that are not UTF-8, an unterminated
quote, an unquoted comma or an empty answer cost only their own line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

from gradcli.errors import ExitCode, GradcliError, PointError
from gradcli.results.grading import Grade, GradeSheet

REQUIRED = ("expression", "answer")
OPTIONAL = ("wrt", "at", "order", "implicit")
MAX_ROWS = 100_000
_ASSIGNMENT = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\s*=")


DELIMITERS = (",", ";", "\t")  # a spreadsheet's CSV export: comma, or semicolon where comma is the decimal mark


def read(path: str) -> list:
    """The file's rows, each judged on its own within gradcli's bounds (files.read_rows)."""
    from gradcli.runtime.files import open_input, read_rows

    with open_input(path) as handle:
        return list(read_rows(handle, path))


def grade_file(data, problems: dict | None = None, **options) -> GradeSheet:
    """Grade every row of a class file: its bytes, or (number, text or LineError) pairs from files.read_rows.
    `options` (rtol, sig_figs, ranges) apply to every row. Every non-blank line after the header is one row
    of the sheet, graded or invalid, so the summary's counts add up to the file's data lines."""
    if isinstance(data, bytes):
        from gradcli.runtime.files import read_rows

        data = read_rows(io.BytesIO(data), "the answers file")
    header, delimiter, grades = None, ",", []
    seen: dict = {}  # a class answers the same exercise the same way many times: grade each pair once
    for number, text in data:
        if isinstance(text, str) and not text.strip(" \t,;"):
            continue
        if header is None:
            if not isinstance(text, str):
                raise text
            header, delimiter = _header(text, number) if problems is None else _course_header(text, number, problems)
            continue
        if len(grades) >= MAX_ROWS:
            raise PointError(f"the answers file has more than {MAX_ROWS} rows")
        if problems is None:
            grades.append(_line_grade(number, text, header, delimiter, options, seen))
        else:
            grades.extend(_course_grades(number, text, header, delimiter, problems, options, seen))
    if header is None:
        raise PointError(f"the answers file needs a header naming {_COLUMNS}")
    return GradeSheet(tuple(grades))


def read_problems(rows) -> dict:
    """The problems file (grading/problems.py) from files.read_rows pairs."""
    from gradcli.grading.problems import read_problems as read_course

    return read_course(rows, DELIMITERS)


def totals(grades: GradeSheet, problems: dict | None, points: float | None = None) -> list[dict]:
    """Per-student totals, in the order students first appear: rows, verdict counts, score and points.

    The points possible are the problems file's (every problem, answered or not), or without one the rows'
    own points. An undecided row scores nothing here and is counted, for the instructor to decide."""
    if any("student" not in dict(g.columns) for g in grades):
        raise PointError("--totals adds up each student's rows: the answers file needs a student column")
    possible = sum(p.policy.get("points", 1.0 if points is None else points) for p in (problems or {}).values())
    table: dict = {}
    for g in grades:
        entry = table.setdefault(
            dict(g.columns)["student"],
            {"rows": 0, "correct": 0, "wrong": 0, "undecided": 0, "not differentiable": 0, "invalid": 0,
             "score": 0.0, "points": possible if problems else 0.0},
        )  # fmt: skip
        entry["rows"] += 1
        entry[g.verdict] += 1
        entry["score"] += (g.result.score or 0.0) if g.result else 0.0
        if not problems:
            entry["points"] += g.result.points if g.result else (1.0 if points is None else points)
    return [{"student": name, **entry} for name, entry in table.items()]


_COLUMNS = "the columns expression and answer (optionally wrt, at, order, implicit)"


def _line_grade(number: int, text, header: list[str], delimiter: str, options: dict, seen: dict) -> Grade:
    if not isinstance(text, str):
        return Grade(number, None, str(text).removeprefix(f"line {number}: "))
    opened = _open_quote(text, delimiter)
    if opened is not None:  # the columns before the quote are still the student's
        before = next(csv.reader([text[:opened]], delimiter=delimiter), [])
        return Grade(
            number,
            None,
            f"unterminated quote starting on line {number} (column {opened + 1}): close the quote",
            columns=_extra(header, before),
            text=text,
        )
    fields = next(csv.reader([text], delimiter=delimiter))
    return _grade_row(number, fields, header, options, seen, text)


def _course_header(text: str, line: int, problems: dict) -> tuple[list[str], str]:
    """An answers file beside a problems file: long (problem and answer columns) or wide (a column per problem)."""
    for delimiter in DELIMITERS:
        header = [f.strip().lower() for f in next(csv.reader([text], delimiter=delimiter), [])]
        if {"problem", "answer"} <= set(header) or any(c in problems for c in header):
            return header, delimiter
    ids = ", ".join(p.id for p in problems.values())
    raise PointError(
        f"line {line}: with --problems the answers file's header names the columns problem and answer "
        f"(long form), or has a column per problem (wide form: {ids})"
    )


def _course_grades(number, text, header, delimiter, problems, options, seen) -> list[Grade]:
    """One grade for a long row, one per problem column for a wide row."""
    opened = _open_quote(text, delimiter)
    if opened is not None:
        return [_line_grade(number, text, header, delimiter, options, seen)]
    fields = next(csv.reader([text], delimiter=delimiter))
    if len(fields) > len(header):
        return [Grade(number, None, f"{len(fields)} columns but the header has {len(header)}", text=text)]
    row = dict(zip(header, (f.strip() for f in fields), strict=False))
    long = "problem" in header and "answer" in header
    own = tuple((n, v) for n, v in zip(header, fields, strict=False) if n not in problems and n != "answer")
    if not long:
        cells = [(name, row.get(name, "")) for name in header if name in problems]
        return [_course_grade(number, problems[name], answer, own, options, seen, name) for name, answer in cells]
    problem = problems.get(row.get("problem", "").lower())
    if problem is None:
        known = ", ".join(p.id for p in problems.values())
        return [Grade(number, None, f"unknown problem {row.get('problem', '')!r} (the problems file has {known})",
                      columns=own, text=text)]  # fmt: skip
    return [_course_grade(number, problem, row.get("answer", ""), own, options, seen, None)]


def _course_grade(number, problem, answer, own, options, seen, column) -> Grade:
    columns = (*own, ("problem", problem.id)) if column else own
    if not answer:
        return Grade(number, None, "the answer is empty", columns=columns, text="")
    fields = {**problem.fields, "answer": answer}
    key = (problem.id, *fields.values())
    if key not in seen:
        seen[key] = _graded(fields, {**options, **problem.policy})  # the problem's own tolerance replaces the run's
    return Grade(number, *seen[key], columns=columns, text=answer)


def _open_quote(text: str, delimiter: str) -> int | None:
    """The column of a quote still open at the end of the line, by the csv module's rules: a quote opens a
    field only at its start, and "" inside is one quote. A class file's cell never spans lines."""
    inside, start, opened, i = False, True, None, 0
    while i < len(text):
        c = text[i]
        if inside:
            if c == '"' and text[i + 1 : i + 2] == '"':
                i += 1
            elif c == '"':
                inside, start = False, False
        elif c == '"' and start:
            inside, opened = True, i
        else:
            start = c == delimiter
        i += 1
    return opened if inside else None


def _header(text: str, line: int) -> tuple[list[str], str]:
    """The columns and the delimiter: the one of comma, semicolon and tab that names the required columns."""
    best = None
    for delimiter in DELIMITERS:
        header = [f.strip().lower() for f in next(csv.reader([text], delimiter=delimiter), [])]
        known = sum(c in header for c in (*REQUIRED, *OPTIONAL))
        if all(c in header for c in REQUIRED):
            return header, delimiter
        if best is None or known > best[0]:
            best = known, header
    missing = [c for c in REQUIRED if c not in best[1]]
    raise PointError(f"line {line}: the answers file needs a header naming {_COLUMNS}; missing {', '.join(missing)}")


def _grade_row(line: int, fields: list[str], header: list[str], options: dict, seen: dict, text: str) -> Grade:
    extra = _extra(header, fields)
    problem = _row_problem(line, fields, header)
    if isinstance(problem, Grade):
        return replace(problem, columns=extra, text=text)
    key = tuple(problem.get(c, "") for c in (*REQUIRED, *OPTIONAL))
    if key not in seen:
        seen[key] = _graded(problem, options)
    return Grade(line, *seen[key], columns=extra, text=problem["answer"])


_KNOWN = frozenset((*REQUIRED, *OPTIONAL))


def _extra(header: list[str], fields: list[str]) -> tuple[tuple[str, str], ...]:
    """The row's pass-through columns (student, section, email, ...), as written."""
    return tuple((name, value) for name, value in zip(header, fields, strict=False) if name not in _KNOWN)


def _graded(problem: dict, options: dict) -> tuple:
    """(result, error, code) for one row's problem."""
    from gradcli.grading.check import check

    try:
        from gradcli.lang.values import split_assignments

        wrt = [w.strip() for w in problem.get("wrt", "").replace(";", ",").split(",") if w.strip()] or None
        point = dict(split_assignments(problem["at"])) if problem.get("at") else None
        order = int(problem["order"]) if problem.get("order", "").strip().isdigit() else 1
        implicit = problem.get("implicit") or None
        result = check(problem["expression"], problem["answer"], wrt, point, order=order, implicit=implicit, **options)
        return result, None, int(result.exit_code)
    except GradcliError as exc:
        return None, exc.describe(), int(exc.exit_code)
    except Exception as exc:  # a bug in gradcli: this row says so, and the other rows are still graded
        message = f"internal error, a bug in gradcli (please report it): {type(exc).__name__}: {exc}"
        return None, message, int(ExitCode.INTERNAL_ERROR)


def _row_problem(line: int, fields: list[str], header: list[str]) -> dict | Grade:
    if len(fields) > len(header):
        return Grade(line, None, _too_many(fields, header))
    row = {name: value.strip() for name, value in zip(header, fields, strict=False)}
    for column in REQUIRED:
        if column not in row:
            return Grade(
                line,
                None,
                f"{len(fields)} column(s) but the header has {len(header)} ({', '.join(header)})",
            )
        if not row[column]:
            return Grade(line, None, f"the {column} is empty")
    return row


def _too_many(fields: list[str], header: list[str]) -> str:
    """Which column's text holds the unquoted comma: the span whose brackets balance only when joined."""
    extra = len(fields) - len(header)
    message = f"{len(fields)} columns but the header has {len(header)} ({', '.join(header)})"
    for i in range(len(header)):
        joined = ",".join(fields[i : i + extra + 1])
        span = fields[i : i + extra + 1]
        balanced = any(_depth(f) for f in span) and _depth(joined) == 0
        point = header[i] == "at" and all(_ASSIGNMENT.match(f) for f in span)
        if balanced or point:
            return f'{message}: quote the {header[i]}: "{joined.strip()}"'
    return f"{message}: quote a value that contains a comma"


def _depth(text: str) -> int:
    return sum((c in "([") - (c in ")]") for c in text)
