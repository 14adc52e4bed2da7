"""Output: rich table, JSON, CSV and plain text (descend's in present/descent.py, check's in present/grading.py)."""

from __future__ import annotations

import csv
import json
import math
from typing import TextIO

import numpy as np

from gradcli.errors import LimitError
from gradcli.judge.explain import fmt
from gradcli.results.gradient import GradResult, MatrixResult, PointResult, json_number

PIPE_WIDTH = 120
MAX_TABLE_ENTRIES = 2_000
MIN_TABLE_WIDTH = 60  # narrower terminals get PIPE_WIDTH lines, which the terminal wraps, not emptied cells
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def exact_text(value) -> str:
    """Round-trip text of a float for scripts: 6.0 prints as 6, 0.1 as 0.1; the tape's None as None."""
    if value is None:
        return "None"
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _texts(column: np.ndarray) -> list[str]:
    """exact_text for a whole column at C speed where possible: repr of Python floats, integral ones without .0."""
    texts = list(map(repr, np.asarray(column, dtype=np.float64).tolist()))
    return [t[:-2] if t.endswith(".0") else t for t in texts]


def _flat(value) -> list:
    if value is None:  # the tape's None (an unconnected source, an integer tensor)
        return [None]
    return [float(v) for v in np.asarray(value, dtype=np.float64).ravel()]


def _labels(name: str, value) -> list[str]:
    shape = np.asarray(value).shape
    if not shape:
        return [name]
    return [f"{name}[{','.join(map(str, index))}]" for index in np.ndindex(shape)]


def _width(out) -> int:
    """The terminal's width, or PIPE_WIDTH for a pipe or a terminal too narrow for a table. Given to rich
    explicitly: rich would take COLUMNS=0 at its word and print nothing."""
    import shutil

    if not getattr(out, "isatty", lambda: False)():
        return PIPE_WIDTH
    columns = shutil.get_terminal_size().columns  # COLUMNS=0 or unset: the terminal's own size
    return columns if columns >= MIN_TABLE_WIDTH else PIPE_WIDTH


def write(result: GradResult | MatrixResult, fmt_name: str, out: TextIO, err: TextIO | None = None) -> None:
    """Write the result to out; plain output, which has no room for notes, puts them on err."""
    if fmt_name == "plain" and err is not None:
        write_note_lines(result, err)
    if isinstance(result, MatrixResult):
        writers = {"table": matrix_table, "json": write_json, "csv": matrix_csv, "plain": matrix_plain}
    else:
        writers = {"table": write_table, "json": write_json, "csv": write_csv, "plain": write_plain}
    writers["jsonl"] = write_jsonl
    writers[fmt_name](result, out)


def write_json(result: GradResult | MatrixResult, out: TextIO) -> None:
    out.write(json.dumps(result.to_dict(), indent=2) + "\n")


def write_jsonl(result: GradResult | MatrixResult, out: TextIO) -> None:
    """The JSON object on one line: for scripts that read line by line, and for gradcli batch."""
    out.write(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")


class ChunkWriter:
    """Streams --points results: a header once, then each chunk as it is computed."""

    def __init__(self, fmt_name: str, out: TextIO, variables, rows, err: TextIO | None = None, label: str = ""):
        self.fmt, self.out, self.variables, self.rows = fmt_name, out, list(variables), list(rows)
        self.err, self.label = err, label  # plain output has no status column: points that do not agree go to err
        if fmt_name == "csv":
            csv.writer(out, lineterminator="\n").writerow([*self.variables, *(f"df/d{r}" for r in self.rows), "status"])

    def write(self, chunk) -> None:
        if self.fmt == "csv":
            self._csv(chunk)
        elif self.fmt == "jsonl":
            self._jsonl(chunk)
        else:
            self._plain(chunk)
        self.out.flush()

    def _csv(self, chunk) -> None:
        columns = [chunk.coords[v] for v in self.variables] + [chunk.tape[r] for r in self.rows]
        texts = [_texts(c) for c in columns] + [chunk.status.tolist()]
        self.out.write("".join(",".join(row) + "\n" for row in zip(*texts, strict=True)))

    def _plain(self, chunk) -> None:
        texts = [_texts(chunk.tape[r]) for r in self.rows]
        self.out.write("".join(" ".join(row) + "\n" for row in zip(*texts, strict=True)))
        if self.err is not None:
            flagged = np.nonzero(chunk.status != "agree")[0]
            self.err.write(
                "".join(f"note: {self.label} line {int(chunk.lines[i])}: {chunk.status[i]}\n" for i in flagged)
            )

    def _jsonl(self, chunk) -> None:
        lines = []
        for i in range(len(chunk)):
            gradient = {
                r: {
                    "tape": json_number(chunk.tape[r][i]),
                    "exact": json_number(chunk.exact[r][i]),
                    "finite_difference": json_number(chunk.finite_difference[r][i]),
                }
                for r in self.rows
            }
            record = {
                "line": int(chunk.lines[i]),
                "at": {v: json_number(chunk.coords[v][i]) for v in self.variables},
                "value": json_number(chunk.value[i]),
                "gradient": gradient,
                "status": str(chunk.status[i]),
            }
            lines.append(json.dumps(record, separators=(",", ":")))
        self.out.write("\n".join(lines) + "\n")


def _watched(point: PointResult):
    return [p for p in point.gradient if p.watched]


def write_plain(result: GradResult, out: TextIO) -> None:
    for point in result.results:
        values = [v for p in _watched(point) for v in _flat(p.tape)]
        out.write(" ".join(exact_text(v) for v in values) + "\n")


def write_csv(result: GradResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    first = result.results[0]
    target = ["of"] if result.targets else []  # with --of, which step each row differentiates
    header = target + [label for name, v in first.at.items() for label in _labels(name, v)]
    header += [label for p in _watched(first) for label in _labels(f"df/d{p.name}", p.tape)]
    others = [f for f in getattr(result, "frameworks", ()) if f != "tensorflow"]  # --frameworks: a column each
    header += [f"{label} ({f})" for f in others for p in _watched(first) for label in _labels(f"df/d{p.name}", p.tape)]
    writer.writerow([*header, "status"])  # the same column --points writes
    for point in result.results:
        row = ([point.of] if result.targets else []) + [exact_text(x) for v in point.at.values() for x in _flat(v)]
        row += [exact_text(x) for p in _watched(point) for x in _flat(p.tape)]
        row += [exact_text(x) for f in others for p in _watched(point) for x in _flat(p.frameworks[f])]
        writer.writerow([*row, point.status])


def write_note_lines(result: GradResult | MatrixResult, err: TextIO) -> None:
    """For plain output: each point's notes on stderr, one line each, so stdout stays the numbers."""
    for point in result.results:
        for note in point.notes:
            err.write(f"note: at {_point_text(point)}: {' '.join(note.message.split())}\n")


def _point_text(point) -> str:
    """The point's variables; a point of watched constants alone (--const x=3 --watch x) is "the constants"."""
    return ", ".join(f"{name} = {fmt(v)}" for name, v in point.at.items()) or "the constants"


def write_table(result: GradResult, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Piped output gets a fixed, generous width so that rows are not folded mid-number.
    console = Console(file=out, highlight=False, soft_wrap=False, width=_width(out))
    title = result.expression if ";" in result.expression else f"f = {result.expression}"
    table = Table(title=Text(title), title_justify="left", show_lines=False)
    power = "" if result.order == 1 else str(result.order).translate(SUPERSCRIPTS)
    wrt_header = f"∂{power}f/∂{power}"
    first = "point, target" if result.targets else "point"
    value, tape = "f", "GradientTape"
    product = getattr(result, "product", None)
    if product:
        wrt_header, value = ("J·t", "f") if product == "jvp" else ("∂(u·f)/∂", "u·f")
        tape = "ForwardAccumulator" if product == "jvp" else "tape (output_gradients=u)"
    others = [f for f in result.frameworks if f != "tensorflow"]
    labels = {"jax": "JAX", "torch": "PyTorch"}
    columns = (first, value, wrt_header, tape, *(labels[f] for f in others), "symbolic derivative", "exact")
    for column in (*columns, "finite diff.", "agree"):
        table.add_column(column, overflow="fold")
    for point in result.results:
        for i, partial in enumerate(point.gradient):
            tape = fmt(partial.tape) if partial.watched else "not watched (constant)"
            exact = fmt(partial.exact)
            if partial.clipped and partial.watched:
                tape = f"{tape} (raw {fmt(partial.unclipped)})"
                exact = f"{exact} (raw {fmt(partial.exact_unclipped)})"
            mark = _mark(point, partial)
            where = _point_text(point) + (f"; {point.of}" if point.of else "")
            beside = [fmt(partial.frameworks[f]) if partial.frameworks else "" for f in others]
            cells = (
                where if i == 0 else "",
                fmt(point.value) if i == 0 else "",
                f"{partial.name} (intermediate)" if partial.intermediate else partial.name,
                tape,
                *beside,
                partial.symbolic,
                exact,
                fmt(partial.finite_difference),
            )
            table.add_row(*map(Text, cells), mark, end_section=i == len(point.gradient) - 1)
    console.print(table)
    if product == "jvp":
        console.print(Text("tangent t: " + ", ".join(f"{n} = {fmt(v)}" for n, v in result.vector.items())))
        if result.targets:
            console.print(Text("one forward pass (ForwardAccumulator) gave J·t for every target"))
    elif product:
        console.print(Text(f"upstream gradient u = {fmt(result.vector)}"))
    _derivation_lines(console, result)
    _stop_lines(console, result)
    for text in result.customs.values():
        console.print(Text(f"custom gradient (@tf.custom_gradient): {text}"))
    _truth_lines(console, result)
    if result.clip:
        console.print(Text(f"clipping: {result.clip.describe()}; exact and finite differences clipped the same way"))
    if result.targets and not result.summed and not product:
        how = (
            "one persistent tape recorded every target (persistent=True)"
            if result.persistent
            else f"each target was recorded on its own tape ({result.recordings} recordings per point): "
            "a non-persistent tape can answer one gradient call"
        )
        console.print(Text(how))
    _footer(console, result)


def _mark(point, partial):
    """yes, NO (naming the odd witness), or "no derivative" where a note says it does not exist here."""
    from rich.text import Text

    undefined = any(n.severity == "undefined" and n.variable in (partial.name, None) for n in point.notes)
    if undefined and partial.watched:
        return Text("no derivative", style="yellow")
    if partial.watched and partial.tape is None and any(n.kind == "integer_dtype" for n in point.notes):
        return Text("tape: None", style="yellow")  # int32: sympy and finite differences agree; the tape gave nothing
    return Text("yes", style="green") if partial.agree else Text(_odd(partial), style="bold red")


def _odd(partial) -> str:
    """The agree cell of a disagreeing row names the odd witness, where the judge found one."""
    return {"tape": "NO: tape", "exact": "NO: exact", "finite_difference": "NO: finite diff."}.get(partial.odd, "NO")


def _derivation_lines(console, result) -> None:
    from rich.text import Text

    for name, steps in result.steps.items():
        console.print(Text(f"derivation of d/d{name}:", style="bold"))
        for number, step in enumerate(steps, start=1):
            if step.rule == "simplify":
                console.print(Text(f"  {number}. simplified: d/d{name} = {step.derivative}", style="bold"))
            else:
                console.print(Text(f"  {number}. d/d{name} [{step.expression}] = {step.derivative}   ({step.rule})"))
            if result.latex:
                console.print(Text(f"     LaTeX: {step.latex}"))
    if result.latex:
        console.print(Text(f"LaTeX f: {result.latex['function']}"))
        for name, text in result.latex["derivatives"].items():
            console.print(Text(f"LaTeX df/d{name}: {text}"))


def _truth_lines(console, result: GradResult) -> None:
    from rich.text import Text

    for point in result.results:
        for p in point.gradient:
            if p.true_symbolic is not None:
                console.print(
                    Text(
                        f"true derivative d/d{p.name} = {p.true_symbolic} = {fmt(p.true_exact)} at {_point_text(point)}"
                    )
                )


def _stop_lines(console, result: GradResult) -> None:
    from rich.text import Text

    for point in result.results:
        for p in point.gradient:
            if p.without_stop is not None:
                where = f"{_point_text(point)}" + (f", of {point.of}" if point.of else "")
                console.print(
                    Text(
                        f"without stop_gradient, GradientTape would give d/d{p.name} = {fmt(p.without_stop)} ({where})"
                    )
                )


def _footer(console, result) -> None:
    from rich.text import Text

    if result.constants:
        shown = ", ".join(f"{n} = {fmt(v)}" for n, v in result.constants.items())
        console.print(Text(f"constants (tf.constant): {shown}"))
    for point in result.results:
        for note in point.notes:
            console.print(Text(f"note at {_point_text(point)}: {note.message}", style="yellow"))
    console.print(_verdict(result))


def _verdict(result: GradResult | MatrixResult):
    from rich.text import Text

    tol = result.tape_tolerance
    if result.status == "agree" and getattr(result, "customs", None):
        return Text(
            "Each method agrees with its witness: the tape with the custom rule (sympy, rtol "
            f"{tol.rtol:g}), finite differences with the true derivative (rtol {result.fd_tolerance.rtol:g}).",
            style="green",
        )
    exact_wrong_at_kink = any(
        n.kind == "smooth_kink" and not n.data["exact_ok"] for r in result.results for n in r.notes
    )
    if result.status == "agree" and exact_wrong_at_kink:
        return Text("The tape agrees with the one-sided finite differences at the kink (see the note).", style="green")
    silent = sorted(
        {p.name + (f" (of {r.of})" if getattr(r, "of", None) else "")
         for r in result.results for p in getattr(r, "gradient", ()) if p.watched and p.tape is None}
    )  # fmt: skip
    if result.status == "agree" and silent:
        return Text(
            f"sympy and finite differences agree; GradientTape gives None for {', '.join(silent)} (see the notes).",
            style="green",
        )
    if result.status == "agree":
        return Text(
            f"All three methods agree (tape vs exact within rtol {tol.rtol:g}; "
            f"finite differences within rtol {result.fd_tolerance.rtol:g}).",
            style="green",
        )
    if result.status == "disagree":
        return Text("The methods DISAGREE at a point above (rows marked NO).", style="bold red")
    return Text("The derivative does not exist or is not finite at a point above (see the notes).", style="yellow")


def _matrix_entries(result: MatrixResult):
    for i, row in enumerate(result.rows):
        for j, column in enumerate(result.columns):
            yield i, j, row, column


def matrix_plain(result: MatrixResult, out: TextIO) -> None:
    for point in result.results:
        out.write(" ".join(exact_text(v) for row in point.tape for v in row) + "\n")


def matrix_csv(result: MatrixResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    first = result.results[0]
    header = [label for name, v in first.at.items() for label in _labels(name, v)]
    if result.kind == "jacobian":
        header += [f"d({row})/d{column}" for _, _, row, column in _matrix_entries(result)]
    else:
        header += [f"d2f/d{row}d{column}" for _, _, row, column in _matrix_entries(result)]
    writer.writerow(header)
    for point in result.results:
        row = [exact_text(x) for v in point.at.values() for x in _flat(v)]
        row += [exact_text(v) for line in point.tape for v in line]
        writer.writerow(row)


def matrix_table(result: MatrixResult, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    entries = len(result.rows) * len(result.columns) * len(result.results)
    if entries > MAX_TABLE_ENTRIES:  # rich lays out a table whole: 90,000 rows took minutes
        raise LimitError(
            f"{entries} entries are too many for a table (the limit is {MAX_TABLE_ENTRIES}): add --format json or csv"
        )
    console = Console(file=out, highlight=False, soft_wrap=False, width=_width(out))
    title = "Jacobian" if result.kind == "jacobian" else "Hessian"
    table = Table(title=Text(f"{title} of f = {result.expression}"), title_justify="left")
    entry = "∂ output / ∂ input" if result.kind == "jacobian" else "∂²f / ∂ row ∂ column"
    for column in ("point", entry, "GradientTape", "symbolic", "exact", "finite diff.", "agree"):
        table.add_column(column, overflow="fold")
    size = len(result.rows) * len(result.columns)
    for point in result.results:
        for n, (i, j, row, column) in enumerate(_matrix_entries(result)):
            mark = Text("yes", style="green") if point.agree_each[i][j] else Text("NO", style="bold red")
            label = f"∂({row})/∂{column}" if result.kind == "jacobian" else f"∂²f/∂{row}∂{column}"
            cells = (
                _point_text(point) if n == 0 else "",
                label,
                fmt(point.tape[i][j]),
                point.symbolic[i][j],
                fmt(point.exact[i][j]),
                fmt(point.finite_difference[i][j]),
            )
            table.add_row(*map(Text, cells), mark, end_section=n == size - 1)
    console.print(table)
    _footer(console, result)


class PointsProgress:
    """A count of points done on stderr, only when stderr is a terminal (never in pipes or tests)."""

    def __init__(self, err: TextIO):
        self.progress = None
        if getattr(err, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            columns = (SpinnerColumn(), TextColumn("{task.completed:,} points"), TimeElapsedColumn())
            self.progress = Progress(*columns, console=Console(file=err), transient=True)
            self.task = self.progress.add_task("points", total=None)

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def advance(self, count: int) -> None:
        if self.progress:
            self.progress.advance(self.task, count)

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()


# ---------------------------------------------------------------- derived and derivative


def write_derived(result, fmt_name: str, out: TextIO) -> None:
    """grad --implicit / --direction; without a point, the formula and the sample points that checked it."""
    if fmt_name in ("json", "jsonl"):
        out.write(json.dumps(result.to_dict(), indent=None if fmt_name == "jsonl" else 2) + "\n")
        return
    if result.sampled and fmt_name in ("plain", "csv"):
        out.write(f"{result.symbolic}\n")
        return
    if fmt_name in ("plain", "csv"):
        writer = csv.writer(out, lineterminator="\n")
        if fmt_name == "csv":
            writer.writerow([*result.results[0].at, "tape", "exact", "finite_difference", "agree", "differentiable"])
        for r in result.results:
            values = [r.tape, r.exact, r.finite_difference]
            if fmt_name == "plain":
                out.write(f"{exact_text(r.tape)}\n")
            else:
                writer.writerow([*map(exact_text, r.at.values()), *map(exact_text, values), r.agree, r.differentiable])
        return
    along = f" along {fmt(list(result.direction))}" if result.direction else ""
    where = "on" if result.kind == "implicit" else "of"
    out.write(f"{result.of}{along} {where} {result.expression}: {result.symbolic}\n")
    _derived_derivation(result, out)
    if result.sampled:
        agree = all(r.agree for r in result.results)
        verdict = ("they agree" if agree else "they DISAGREE") if result.results else "no sample point found"
        out.write(f"checked against GradientTape and finite differences at {len(result.results)} points: {verdict}\n")
    for r in result.results:
        point = ", ".join(f"{n} = {fmt(v)}" for n, v in r.at.items())
        status = "agree" if r.agree else "disagree"
        if not r.differentiable:
            status = "not differentiable here"
        out.write(
            f"  at {point}: tape {fmt(r.tape)}, sympy {fmt(r.exact)}, "
            f"finite differences {fmt(r.finite_difference)}: {status}\n"
        )


def _derived_derivation(result, out: TextIO) -> None:
    """--steps: the derivation of each partial derivative it is made from; --latex: LaTeX of them and the result."""
    for name, steps in result.steps.items():
        out.write(f"derivation of d/d{name}:\n")
        for number, step in enumerate(steps, start=1):
            if step.rule == "simplify":
                out.write(f"  {number}. simplified: d/d{name} = {step.derivative}\n")
            else:
                out.write(f"  {number}. d/d{name} [{step.expression}] = {step.derivative}   ({step.rule})\n")
    if result.latex:
        out.write(f"LaTeX f: {result.latex['function']}\n")
        for name, text in result.latex["derivatives"].items():
            out.write(f"LaTeX df/d{name}: {text}\n")
        out.write(f"LaTeX {result.of}: {result.latex['result']}\n")


def write_derivative(result, fmt_name: str, out: TextIO) -> None:
    """The derivative with no point: table (the formula and how it was checked), json, or plain."""
    if fmt_name == "json":
        out.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    entries = _derivative_entries(result)
    if fmt_name == "plain":
        out.write("".join(f"{text}\n" for _, text in entries))
        return
    from rich.console import Console
    from rich.text import Text

    width = None if getattr(out, "isatty", lambda: False)() else PIPE_WIDTH
    console = Console(file=out, highlight=False, soft_wrap=False, width=width)
    console.print(Text(f"f = {result.expression}", style="bold"))
    for label, text in entries:
        console.print(Text(f"{label} = {text}"))
    for name, text in result.factored.items():
        console.print(Text(f"  factored, d/d{name}: {text}"))
    if result.steps or result.latex:
        _derivation_lines(console, result)
    for note in result.notes:
        console.print(Text(f"note: {note.message}"))
    if result.checked_at:
        shown = "; ".join(", ".join(f"{n} = {v:g}" for n, v in p.items()) for p in result.checked_at)
        verdict = "they agree" if result.agree else "they DISAGREE"
        count = len(result.checked_at)
        style = "green" if result.agree else "red"
        console.print(
            Text(f"checked against GradientTape at {count} points, with finite differences: {verdict}", style)
        )
        console.print(Text(f"  {shown}"))


def _derivative_entries(result) -> list[tuple[str, str]]:
    """(label, formula) for each derivative shown: d/dx, d³/dx³, ∂²f/∂x∂y, ∂f[0]/∂x."""
    if result.kind == "grad":
        power = "" if result.order == 1 else str(result.order).translate(SUPERSCRIPTS)
        return [(f"d{power}/d{name}{power}", text) for name, text in result.derivative.items()]
    label = "∂²f/∂{row}∂{name}" if result.kind == "hessian" else "∂{row}/∂{name}"
    return [
        (label.format(row=row, name=name), text)
        for row, entries in zip(result.rows, result.derivative, strict=True)
        for name, text in zip(result.wrt, entries, strict=True)
    ]
