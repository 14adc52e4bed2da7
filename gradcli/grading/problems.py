"""A course's problems file and its answers in long or wide form (check --file ANSWERS --problems PROBLEMS).

The problems file: a header naming `problem` (its id) and `expression`, optionally `wrt`, `at`, `order`,
`implicit`, `points` and `tolerance` (`rtol=1e-3`, `atol=0.01`, `sig_figs=3`, `decimals`, or a bare
number, a relative tolerance; two rules separated by a space: `rtol=1e-3 atol=1e-6`). It is the
instructor's file: any error in it stops the run, naming its line.

The answers file is long (`student, problem, answer`: one answer a line) or wide (`student, P1, P2, ...`:
a column per problem, one student a line, each cell one row of the sheet).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

from gradcli.errors import PointError

COLUMNS = ("problem", "expression", "wrt", "at", "order", "implicit", "points", "tolerance")
TOLERANCE_KEYS = ("rtol", "atol", "sig_figs", "decimals")


@dataclass(frozen=True)
class Problem:
    id: str
    fields: dict  # expression, wrt, at, order, implicit: as an answers file's row would hold them
    policy: dict  # points and the tolerance keys given in the file (the rest from the run's options)


def read_problems(rows, delimiters: tuple[str, ...]) -> dict[str, Problem]:
    """{id (lower case): Problem} from (number, text or LineError) pairs."""
    header, delimiter, problems = None, ",", {}
    for number, text in rows:
        if not isinstance(text, str):
            raise PointError(f"the problems file {text}")
        if not text.strip(" \t,;"):
            continue
        if header is None:
            header, delimiter = _header(text, number, delimiters)
            continue
        fields = next(csv.reader([text], delimiter=delimiter))
        if len(fields) > len(header):
            raise PointError(f"the problems file line {number}: {len(fields)} columns but the header has {len(header)}")
        row = {name: value.strip() for name, value in zip(header, fields, strict=False)}
        problem = _problem(row, number)
        if problem.id.lower() in problems:
            raise PointError(f"the problems file line {number}: problem {problem.id!r} is given twice")
        problems[problem.id.lower()] = problem
    if not problems:
        raise PointError("the problems file has no problems: it needs a header naming problem and expression")
    return problems


def _header(text: str, number: int, delimiters) -> tuple[list[str], str]:
    for delimiter in delimiters:
        header = [f.strip().lower() for f in next(csv.reader([text], delimiter=delimiter), [])]
        if "problem" in header and "expression" in header:
            unknown = [c for c in header if c not in COLUMNS]
            if unknown:
                raise PointError(
                    f"the problems file line {number}: unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})"
                )
            return header, delimiter
    raise PointError(f"the problems file line {number}: the header names the columns problem and expression")


def _problem(row: dict, number: int) -> Problem:
    where = f"the problems file line {number}"
    if not row.get("problem"):
        raise PointError(f"{where}: the problem id is empty")
    if not row.get("expression"):
        raise PointError(f"{where}: the expression is empty")
    policy: dict = {}
    if row.get("points"):
        try:
            policy["points"] = float(row["points"])
        except ValueError:
            raise PointError(f"{where}: points {row['points']!r} is not a number") from None
        if not (math.isfinite(policy["points"]) and policy["points"] >= 0):
            raise PointError(f"{where}: points must be 0 or more")
    if row.get("tolerance"):
        policy.update(tolerance(row["tolerance"], where))
    fields = {c: row.get(c, "") for c in ("expression", "wrt", "at", "order", "implicit")}
    return Problem(row["problem"], fields, policy)


def tolerance(text: str, where: str) -> dict:
    """`rtol=1e-3`, `atol=0.01`, `sig_figs=3`, `decimals` or a bare number (rtol); two rules spaced apart."""
    rule: dict = {"rtol": None, "atol": None, "sig_figs": None, "decimals": False}
    for part in text.split():
        name, _, value = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not value and name == "decimals":
            rule["decimals"] = True
            continue
        if not value:
            name, value = "rtol", part
        if name not in ("rtol", "atol", "sig_figs"):
            raise PointError(f"{where}: tolerance {part!r}: write rtol=1e-3, atol=0.01, sig_figs=3 or decimals")
        try:
            rule[name] = int(value) if name == "sig_figs" else float(value)
        except ValueError:
            raise PointError(f"{where}: tolerance {part!r}: {value!r} is not a number") from None
    return rule
