"""Many points in one call: a CSV of points in, gradients out, in chunks, each chunk one tensor.

Every chunk goes through one tape, one vectorised finite-difference stencil and
one vectorised evaluation of the symbolic derivative (float64 numpy, translated
from sympy's tree), so the cost per point is that of numpy and TensorFlow
kernels, not of Python. Results stream out chunk by chunk; memory is bounded by
the chunk size, whatever the number of points.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from gradcli.errors import Deadline, ExitCode, PointError
from gradcli.judge import verdict as judge
from gradcli.solve.problem import Problem, prepare
from gradcli.witnesses import differences, numeric

DEFAULT_CHUNK = 10_000
MAX_CHUNK = 100_000  # points per tensor: a few tens of MB per chunk at most
MAX_DATA_ROWS = 1_000_000  # descend --data holds its whole table in memory
MAX_SHOWN_COLUMNS = 20  # an error names a header's columns only when they are this few short names
MAX_SHOWN_CELL = 40  # characters of the one wrong cell an error shows
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


@dataclass(frozen=True)
class Chunk:
    lines: np.ndarray  # input line numbers
    coords: dict[str, np.ndarray]
    value: np.ndarray
    tape: dict[str, np.ndarray]  # watched rows only
    exact: dict[str, np.ndarray]
    finite_difference: dict[str, np.ndarray]
    status: np.ndarray  # "agree", "disagree" or "not differentiable", per point

    def __len__(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class Block:
    """Good rows read from the input: their line numbers and values (one column per header name)."""

    lines: np.ndarray
    values: np.ndarray


def read_points(
    lines: Iterable[str], chunk_size: int = DEFAULT_CHUNK, quote: bool = True
) -> tuple[list[str], Iterator]:
    """The header's names, and an iterator of Block and BadRow in input order, read lazily chunk by chunk.
    Without `quote` (a confined batch line) a bad row's message holds nothing of the file's text."""
    source = iter(lines)
    try:
        header = [h.strip() for h in next(csv.reader([next(source).lstrip("\ufeff")]))]  # a BOM, as Excel writes
    except StopIteration:
        raise PointError("the points file is empty: it needs a header naming the variables") from None
    except csv.Error:  # a NUL or a stray carriage return inside the header: not a CSV line
        raise PointError("the first line is not a CSV header naming the variables, e.g. x,y") from None
    if not header or any(not h for h in header) or len(set(header)) != len(header):
        raise PointError("the points header must name each variable once, e.g. x,y")

    def blocks():
        first = 2
        while chunk := list(itertools.islice(source, chunk_size)):
            yield from _fast_block(header, chunk, first) or _parse_block(header, _rows(chunk, first), quote)
            first += len(chunk)

    return header, blocks()


def header_shape(header: list[str], quote: bool = True) -> str:
    """The header, for an error: its names when they are short variable names, else only its shape (the first
    line of a file that is not a CSV, /etc/passwd, is never quoted)."""
    if quote and len(header) <= MAX_SHOWN_COLUMNS and all(_NAME.match(h) for h in header):
        return f"its columns: {', '.join(header)}"
    named = sum(bool(_NAME.match(h)) for h in header)
    cells = "1 cell" if len(header) == 1 else f"{len(header)} cells"
    return f"its first line has {cells}, {named} of them a column name"


def _fast_block(header: list[str], chunk: list[str], first: int) -> list:
    """The common case, a clean block of numbers, parsed by numpy in one call; [] to fall back."""
    try:
        values = np.loadtxt(chunk, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        return []
    if values.shape != (len(chunk), len(header)) or not np.all(np.isfinite(values)):
        return []
    return [Block(np.arange(first, first + len(chunk)), values)]


def _rows(chunk: list[str], first: int) -> list[tuple[int, list[str] | None]]:
    """(line, cells) of each non-blank line; None for a line csv cannot split (a stray carriage return)."""
    rows = []
    for number, line in enumerate(chunk, start=first):
        try:
            row = next(csv.reader([line]), [])
        except csv.Error:
            rows.append((number, None))
            continue
        if len(row) > 1 or (row and row[0].strip()):  # blank lines are skipped
            rows.append((number, row))
    return rows


def _parse_block(header: list[str], pending: list[tuple[int, list[str] | None]], quote: bool = True):
    """Fast path: the whole block converts at once; otherwise row by row, good runs kept together."""
    numbers = np.array([number for number, _ in pending])
    try:
        values = np.array([row for _, row in pending], dtype=np.float64)
        if values.shape == (len(pending), len(header)) and np.all(np.isfinite(values)):
            yield Block(numbers, values)
            return
    except (ValueError, TypeError, OverflowError):
        pass
    good_lines, good_values = [], []
    for number, row in pending:
        parsed = _row(number, header, row, quote)
        if isinstance(parsed, BadRow):
            if good_lines:
                yield Block(np.array(good_lines), np.array(good_values))
                good_lines, good_values = [], []
            yield parsed
        else:
            good_lines.append(number)
            good_values.append(parsed)
    if good_lines:
        yield Block(np.array(good_lines), np.array(good_values))


def _row(number: int, header: list[str], row: list[str] | None, quote: bool = True):
    if row is None:
        return BadRow(number, "not one CSV row (a carriage return or a quote inside it)")
    if len(row) != len(header):
        shown = f" ({', '.join(header)})" if quote and header_shape(header).startswith("its columns") else ""
        return BadRow(number, f"{len(row)} values for {len(header)} columns{shown}")
    values = []
    for column, (name, cell) in enumerate(zip(header, row, strict=True), start=1):
        where = f"column {name}" if quote and _NAME.match(name) else f"column {column}"
        try:
            value = float(cell)
        except (ValueError, OverflowError):
            return BadRow(number, f"{where}: {_cell(cell, quote)}is not a number")
        if not math.isfinite(value):
            return BadRow(number, f"{where}: {_cell(cell, quote)}is not a finite number")
        values.append(value)
    return values


def _cell(cell: str, quote: bool) -> str:
    """The one cell that is wrong, shown short and escaped; nothing in a confined batch line."""
    if not quote:
        return ""
    text = cell.strip()
    shown = repr(text[:MAX_SHOWN_CELL] + ("..." if len(text) > MAX_SHOWN_CELL else ""))
    return shown.encode("ascii", "backslashreplace").decode("ascii") + " "


def prepare_points(
    expression: str, header: list[str], const=None, wrt=None, watch=None, dtype="float64", from_latex=False
) -> Problem:
    from gradcli.lang.parser import inline, parse_program
    from gradcli.lang.tree import free_names
    from gradcli.solve.problem import Options

    names = frozenset().union(*map(free_names, inline(parse_program(expression, latex=from_latex)).values()))
    missing = sorted(names - set(header) - set(const or {}))
    if missing:
        raise PointError(
            f"{', '.join(missing)} is not a column of the points file ({header_shape(header)}); "
            "give constants with --const"
        )
    options = Options(const=const, wrt=wrt, watch=watch, dtype=dtype, from_latex=from_latex)
    problem = prepare(expression, {name: 0 for name in header}, options)
    if not problem.batchable:
        raise PointError("--points needs scalar variables and an elementwise expression (no sum, mean or @)")
    return problem


def grad_points(problem: Problem, header: list[str], blocks: Iterable) -> Iterator[Chunk | BadRow]:
    """A Chunk for every block of good points, and the bad rows, in input order."""
    from gradcli.witnesses.symbolic import Symbolic

    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    evaluators = _exact_evaluators(problem, symbolic)
    advice = "numpy cannot evaluate this derivative on many rows at once, so give fewer rows"
    deadline = Deadline("--points", advice)  # checked only row by row (evaluators is None)
    for block in blocks:
        if isinstance(block, BadRow):
            yield block
        else:
            yield _chunk(problem, symbolic, evaluators, header, block, deadline)


def _exact_evaluators(problem: Problem, symbolic):
    """numpy closures for each row's derivative, or None where only point-by-point evaluation works."""
    from gradcli.witnesses.symbolic import NotVectorisable, to_numpy

    names = {symbolic.symbols[name]: name for name in problem.shapes}
    stops = []
    try:
        for k, (symbol, expr) in enumerate(symbolic.stopped):
            names[symbol] = f"__stop{k}"
            stops.append((f"__stop{k}", to_numpy(expr, names)))
        return stops, {name: to_numpy(symbolic.derivative(name), names) for name in problem.rows}
    except NotVectorisable:
        return None


def _chunk(problem: Problem, symbolic, evaluators, header, block: Block, deadline: Deadline) -> Chunk:
    from gradcli.witnesses.tape import record

    n = len(block.lines)
    coords = {name: block.values[:, header.index(name)] for name in problem.variables}
    env = dict(coords)
    for name, value in problem.constants.items():
        env[name] = np.full(n, float(value.data))
    variables = frozenset(problem.variables)
    values, grads = record(problem.tree, env, variables, problem.watched - variables, problem.dtype)
    rows = [name for name in problem.rows if name in problem.watched]
    fn = numeric.function(problem.tree, env)
    with np.errstate(all="ignore"):
        fd = {name: differences.derivative(fn, env, name, batched=True) for name in rows}
        exact = _exact(problem, symbolic, evaluators, env, rows, deadline)
    tape = {name: grads[name] for name in rows}
    columns = _judge(problem, env, fn, values, tape, exact, fd)
    value64 = values if problem.dtype == "float64" else fn(env)
    poles, untaken = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for event, mask in numeric.event_masks(problem.tree, env, frozenset(rows)).items():
        if event.kind == "pole":
            poles |= np.broadcast_to(mask, (n,))
        if event.kind == "untaken":  # the where trap: the tape's nan there is a wrong answer, not a singularity
            untaken |= np.broadcast_to(mask, (n,))
    continuous = differences.continuous(fn, env, rows) if np.any(poles) else False
    status = judge.status(columns, values, value64, problem.dtype, tape, exact, poles, continuous, untaken)
    shown = {c.name: c.fd for c in columns}
    return Chunk(block.lines, coords, values, tape, exact, shown, status)


def _exact(problem, symbolic, evaluators, env, rows, deadline: Deadline) -> dict[str, np.ndarray]:
    n = len(next(iter(env.values())))
    if evaluators is not None:
        stops, derivatives = evaluators
        scope = dict(env)
        for key, evaluate in stops:
            scope[key] = evaluate(scope)
        return {name: np.broadcast_to(np.asarray(derivatives[name](scope), dtype=np.float64), (n,)) for name in rows}
    out = {name: np.empty(n) for name in rows}
    for i in range(n):
        if i % 64 == 0:
            deadline.check()
        values = {name: float(env[name][i]) for name in problem.variables}
        subs = symbolic.substitutions({**values, **problem.constants})
        for name in rows:
            out[name][i] = symbolic.exact(name, subs)
    return out


def _judge(problem, env, fn, values, tape, exact, fd) -> list:
    """One judge.column per variable, every point at once (the rules a single point gets from api)."""
    scale = np.where(np.isfinite(values), np.abs(values), 1.0)
    masks = numeric.event_masks(problem.tree, env, frozenset(tape))
    columns = []
    for name in tape:
        kinks = [np.broadcast_to(m, values.shape) for e, m in masks.items() if e.kind == "kink" and name in e.names]
        at_kink = np.logical_or.reduce(kinks) if kinks else False
        switches = [m for e, m in masks.items() if e.kind == "kink" and e.func == "where" and name in e.names]
        jump = np.logical_or.reduce(switches) & ~differences.continuous(fn, env, [name]) if switches else False
        columns.append(
            judge.column(
                name, tape[name], exact[name], fd[name].value, fd[name].error, scale=scale, dtype=problem.dtype,
                at_kink=at_kink, sides=lambda k, name=name: differences.one_sided_order(fn, env, name, k),
                jump=jump,
            )
        )  # fmt: skip
    return columns


def exit_code(bad_rows: int, statuses: Iterable[str]) -> ExitCode:
    if bad_rows:
        return ExitCode.INVALID_INPUT
    seen = set(statuses)
    if "not differentiable" in seen:
        return ExitCode.NOT_DIFFERENTIABLE
    if "disagree" in seen:
        return ExitCode.DISAGREE
    return ExitCode.OK
