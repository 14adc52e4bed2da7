"""Grading a class's answers file: every row graded, every malformed row reported with its line and a hint.

Columns (a header names them, in any order): expression and answer, optionally
wrt, at (name=value,...), order and implicit; other columns (a student's name)
are kept out of the way. A row is never lost to another: a row with an unquoted
comma, the wrong number of columns, bytes that are not UTF-8 or an empty answer
is reported as invalid, and the rest are graded.
"""

from __future__ import annotations

import csv
import re

from gradcli.errors import ExitCode, GradcliError, PointError
from gradcli.results.grading import Grade, GradeSheet

REQUIRED = ("expression", "answer")
OPTIONAL = ("wrt", "at", "order", "implicit")
MAX_ROWS = 100_000
_ASSIGNMENT = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\s*=")


def read(path: str) -> bytes:
    """The file's bytes, read line by line within gradcli's bounds (files.read_bytes)."""
    from gradcli.runtime.files import open_input, read_bytes

    with open_input(path) as handle:
        return read_bytes(handle, path)


def grade_file(data: bytes, **options) -> GradeSheet:
    """Grade every row of a CSV (bytes); `options` (rtol, sig_figs, ranges) apply to every row."""
    undecodable: list[Grade] = []
    lines = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            undecodable.append(Grade(number, None, f"{message}: save the file as UTF-8"))
            lines.append("\n")  # keeps the line numbers of the rows after it
    reader = csv.reader(lines)
    header, grades, last = None, [], 0
    seen: dict = {}  # a class answers the same exercise the same way many times: grade each pair once
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if not fields or not any(f.strip() for f in fields):
                continue
            if header is None:
                header = _header(fields, start)
                continue
            if len(grades) >= MAX_ROWS:
                raise PointError(f"the answers file has more than {MAX_ROWS} rows")
            grades.append(_grade_row(start, fields, header, options, seen))
    except csv.Error as exc:  # an unterminated quote: the rows before it are graded
        grades.append(Grade(last + 1, None, f"{exc}: close the quote"))
    if header is None:
        raise PointError("the answers file needs a header with expression, wrt, answer (and optionally at)")
    return GradeSheet(tuple(sorted(grades + undecodable, key=lambda g: g.line)))


def _header(fields: list[str], line: int) -> list[str]:
    header = [f.strip().lower() for f in fields]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PointError(
            f"line {line}: the answers file needs a header with expression, wrt, answer (and optionally at); "
            f"missing {', '.join(missing)}"
        )
    return header


def _grade_row(line: int, fields: list[str], header: list[str], options: dict, seen: dict) -> Grade:
    problem = _row_problem(line, fields, header)
    if isinstance(problem, Grade):
        return problem
    key = tuple(problem.get(c, "") for c in (*REQUIRED, *OPTIONAL))
    if key not in seen:
        seen[key] = _graded(problem, options)
    return Grade(line, *seen[key])


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
