"""The command line: parses options, calls the library, turns its errors into exit codes.

Only this module reads argv or decides exit status. TensorFlow, sympy and numpy
are imported inside the commands, so --help, --version and usage errors stay fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, TextIO

import typer

from gradcli import __version__
from gradcli.errors import ExitCode, GradcliError, OutputError
from gradcli.lang import latex
from gradcli.runtime import streams

app = typer.Typer(
    name="gradcli",
    help="Gradients three ways: TensorFlow's GradientTape, sympy, and finite differences.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    plain = "plain"


class OnError(StrEnum):
    skip = "skip"
    stop = "stop"


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


class GradDType(StrEnum):
    float64 = "float64"
    float32 = "float32"
    int32 = "int32"  # the tape does not differentiate integers: shown, not refused


class Unconnected(StrEnum):
    none = "none"
    zero = "zero"


@dataclass
class Environment:
    """The streams a command writes to; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    confined: bool = False  # a batch line: files only under these directories (docs/contract.md)
    output_dir: str | None = None
    data_dir: str | None = None
    inputs: tuple[str, ...] = ()  # files no output may overwrite (the batch file itself)
    stdin_used: bool = False  # EXPRESSION was read from stdin (-)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradcli {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """gradcli: check a derivative with TensorFlow's GradientTape beside sympy and finite differences.

    Exit codes: 0 all methods agree, 1 they disagree, 2 invalid input,
    3 not differentiable or not finite at a requested point.

    Expressions may be typed as in textbooks (sin^2 x, |x|, ln x, x²) or pasted as LaTeX
    (read when the text has a backslash command or braces, or with --from-latex on any command).
    """


def _stdin_expression(text: str | None) -> str | None:
    """`-` in place of EXPRESSION: the one expression on stdin."""
    if text != "-":
        return text
    from gradcli.runtime.batchfile import expression_from

    if ENV.stdin is None:
        raise GradcliError("- reads the expression from stdin, which a batch line does not have")
    ENV.stdin_used = True
    return expression_from(ENV.stdin)


def _split_names(options: list[str]) -> list[str]:
    return [name.strip() for option in options for name in option.split(",") if name.strip()]


def _constants(options: list[str]) -> dict[str, str]:
    from gradcli.lang.values import split_assignments

    constants: dict[str, str] = {}
    for option in options:
        for name, value in split_assignments(option):
            if name in constants:
                raise GradcliError(f"--const {name} given twice")
            constants[name] = value
    return constants


AtOption = Annotated[
    list[str],
    typer.Option(
        "--at", help="Point: name=value[,name=value]. Repeat for more points; a repeated name starts a new point."
    ),
]
ConstOption = Annotated[list[str], typer.Option("--const", help="A constant (tf.constant, not watched): name=value.")]
WrtOption = Annotated[list[str], typer.Option("--wrt", help="Differentiate only with respect to these names.")]
WatchOption = Annotated[list[str], typer.Option("--watch", help="tape.watch() these constants.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json, jsonl, csv or plain.")]
DTypeOption = Annotated[DType, typer.Option("--dtype", help="float64 (default) or float32, TF's default.")]


@app.command()
def jacobian(
    expression: Annotated[
        str,
        typer.Argument(
            callback=_stdin_expression, help='A list of expressions, "[x*y, x + y]", or a tensor expression.'
        ),
    ],
    at: AtOption = [],  # noqa: B006 - typer reads the default, never mutates it
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: WrtOption = [],  # noqa: B006
    watch: WatchOption = [],  # noqa: B006
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Jacobian by tape.jacobian, beside sympy's Matrix.jacobian and finite differences.

    Example: gradcli jacobian "[x*y, x + y, sin(x)]" --at x=1,y=2
    """
    from gradcli.solve.matrix import jacobian as compute

    _run_matrix(compute, expression, at, const, wrt, watch, output, dtype)


@app.command()
def hessian(
    expression: Annotated[
        str, typer.Argument(callback=_stdin_expression, help='A scalar expression, e.g. "x**2*y + sin(x*y)".')
    ],
    at: AtOption = [],  # noqa: B006 - typer reads the default, never mutates it
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: WrtOption = [],  # noqa: B006
    watch: WatchOption = [],  # noqa: B006
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Hessian by nested GradientTapes, beside sympy's second derivatives and finite differences.

    Example: gradcli hessian "x**2*y + sin(x*y)" --at x=1,y=2
    """
    from gradcli.solve.matrix import hessian as compute

    _run_matrix(compute, expression, at, const, wrt, watch, output, dtype)


@app.command()
def jvp(
    expression: Annotated[str, typer.Argument(help='A scalar expression, e.g. "x**2*y".')],
    at: AtOption,
    tangent: Annotated[list[str], typer.Option("--tangent", help="The direction t: name=value[,name=value].")],
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Forward mode: J·t by tf.autodiff.ForwardAccumulator, beside sympy and finite differences along t.

    Example: gradcli jvp "x**2*y" --at x=3,y=2 --tangent x=1,y=0
    """
    from gradcli.solve.products import jvp as compute
    from gradcli.solve.products import parse_tangent

    _run_product(compute, expression, at, const, output, dtype, tangent=parse_tangent(tangent))


@app.command()
def vjp(
    expression: Annotated[str, typer.Argument(help='A list or tensor expression, e.g. "[x*y, x + y]".')],
    at: AtOption,
    upstream: Annotated[str, typer.Option("--upstream", help="The upstream gradient u, one number per output.")],
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Backward pass seeded with u: tape.gradient(f, x, output_gradients=u) = Jᵀu, beside sympy and finite differences.

    Example: gradcli vjp "[x*y, x + y]" --at x=1,y=2 --upstream "[1, 2]"
    """
    from gradcli.solve.products import vjp as compute

    _run_product(compute, expression, at, const, output, dtype, upstream=upstream)


def _run_product(compute, expression, at, const, output, dtype, **vector) -> None:
    from gradcli.lang.values import group_points
    from gradcli.present.render import write

    result = compute(expression, at=group_points(at), const=_constants(const), dtype=dtype.value, **vector)
    write(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


def _run_matrix(compute, expression, at, const, wrt, watch, output, dtype) -> None:
    if not at:
        if const or watch:
            raise GradcliError("without --at, the matrix of derivatives is printed: give --at for --const, --watch")
        _derivative(expression, compute.__name__, wrt, output)
    from gradcli.lang.values import group_points
    from gradcli.present.render import write

    result = compute(
        expression,
        at=group_points(at),
        const=_constants(const),
        wrt=_split_names(wrt) or None,
        watch=_split_names(watch),
        dtype=dtype.value,
    )
    write(result, output.value, ENV.stdout, ENV.stderr)
    raise typer.Exit(result.exit_code)


@app.command()
def descend(
    expression: Annotated[str, typer.Argument(callback=_stdin_expression, help='The loss, e.g. "(w*2 - 6)**2".')],
    start: Annotated[list[str], typer.Option("--from", help="Starting parameters: name=value[,name=value].")],
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    lr: Annotated[str, typer.Option("--lr", help="Learning rate; several, comma-separated, to compare.")] = "0.1",
    steps: Annotated[int, typer.Option("--steps", help="Number of updates.")] = 100,
    optimizer: Annotated[str, typer.Option("--optimizer", help="sgd, momentum or adam.")] = "sgd",
    tol: Annotated[float | None, typer.Option("--tol", help="Stop when the gradient norm is at most this.")] = None,
    clip_value: Annotated[str | None, typer.Option("--clip-value", help="tf.clip_by_value: MIN:MAX.")] = None,
    clip_norm: Annotated[float | None, typer.Option("--clip-norm", help="tf.clip_by_norm per parameter.")] = None,
    clip_global_norm: Annotated[
        float | None, typer.Option("--clip-global-norm", help="tf.clip_by_global_norm over all parameters.")
    ] = None,
    trace: Annotated[str | None, typer.Option("--trace", help="Write every step to this CSV file.")] = None,
    output: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    data: Annotated[
        str | None, typer.Option("--data", help="A CSV whose columns are data; the loss is the mean over a batch.")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="With --data: passes over the data.")] = 1,
    batch_size: Annotated[str, typer.Option("--batch-size", help="With --data: 1, all, or a batch size.")] = "all",
    seed: Annotated[int, typer.Option("--seed", help="With --data: shuffling seed.")] = 0,
    plot_file: Annotated[
        str | None, typer.Option("--plot", help="Draw the loss curve (and the path, or the fit) to this PNG.")
    ] = None,
) -> None:
    """Gradient descent on an expression: record, take the gradient, clip, update, repeat.

    Example: gradcli descend "(w*2 - 6)**2" --from w=0.5 --lr 0.1 --steps 100 --clip-value -1:1
    """
    from gradcli.lang.values import group_points
    from gradcli.present.render import DescentProgress, write_descent, write_trace
    from gradcli.solve.descent import MAX_STEPS
    from gradcli.solve.descent import descend as run_descent
    from gradcli.witnesses.clip import parse_clip

    if output.value not in ("table", "json", "jsonl"):
        raise GradcliError("descend writes a table or json (use --trace FILE for every step as CSV)")
    points = group_points(start)
    if len(points) != 1:
        raise GradcliError("give one starting point with --from (a name repeated would start a second one)")
    rates = _rates(lr)
    clip = parse_clip(clip_value, clip_norm, clip_global_norm)
    options = {"optimizer": optimizer, "clip": clip, "tol": tol, "const": _constants(const)}
    total = steps
    trace, plot_file = _outputs(trace, plot_file, None if data is None else _input_path(data))
    if data is not None:
        columns = _read_data(data, expression, points[0], options["const"])
        size = None if batch_size == "all" else _whole(batch_size, "--batch-size")
        options.update(data=columns, epochs=epochs, batch_size=size, seed=seed)
        rows = len(next(iter(columns.values())))
        total = epochs * -(-rows // (size or rows))
    if total * len(rates) > MAX_STEPS:
        each = f" for each of {len(rates)} rates" if len(rates) > 1 else ""
        raise GradcliError(f"{total} steps{each} is more than the limit of {MAX_STEPS} updates in one command")
    runs = []
    for rate in rates:
        with DescentProgress(ENV.stderr, total, rate) as progress:
            runs.append(run_descent(expression, points[0], lr=rate, steps=steps, callback=progress.step, **options))
    if trace:
        write_trace(runs, trace)
    if plot_file:
        from gradcli.present.pictures import png_descent

        png_descent(runs, plot_file, options.get("data"))
    write_descent(runs, output.value, ENV.stdout)


def _outputs(trace: str | None, plot_file: str | None, data: str | None) -> tuple[str | None, str | None]:
    """--trace and --plot checked (and, in a batch, placed under --output-dir) before any work."""
    from gradcli.runtime.files import check_output, plot_path

    inputs = (*ENV.inputs, *((data,) if data else ()))
    if trace is not None:
        trace = check_output(_output_path(trace, "--trace"), "--trace", inputs)
    if plot_file is not None:
        plot_file = plot_path(_output_path(plot_file, "--plot"), "--plot", (*inputs, trace or ""))
    if trace is not None and plot_file is not None and trace == plot_file:
        raise GradcliError(f"--trace and --plot both name {trace}")
    return trace, plot_file


def _input_path(path: str) -> str:
    from gradcli.runtime.files import confine

    if not ENV.confined:
        return path
    if ENV.data_dir is None:
        raise GradcliError("a batch line cannot read files: run gradcli batch --data-dir DIR to allow files in DIR")
    return confine(path, ENV.data_dir, "--data-dir")


def _output_path(path: str, option: str) -> str:
    from gradcli.runtime.files import confine

    if not ENV.confined:
        return path
    if ENV.output_dir is None:
        raise GradcliError(f"a batch line cannot write files ({option}): run gradcli batch --output-dir DIR")
    return confine(path, ENV.output_dir, "--output-dir")


def _whole(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GradcliError(f"{option} {text!r}: give a whole number (or all)") from None


def _read_data(path: str, expression: str, start: dict, const: dict) -> dict:
    """The data columns of a CSV, with file, line and column named for any problem."""
    import numpy as np

    from gradcli.lang.parser import free_names, inline, parse_program
    from gradcli.solve import points as many

    header, blocks = many.read_points(_open(path))
    names = frozenset().union(*map(free_names, inline(parse_program(expression)).values()))
    missing = sorted(names - set(start) - set(const) - set(header))
    if missing:
        raise GradcliError(
            f"{', '.join(missing)} is neither a --from parameter nor a column of {path} (columns: {', '.join(header)})"
        )
    values, rows = [], 0
    for block in blocks:
        if isinstance(block, many.BadRow):
            raise GradcliError(f"{path} line {block.line}: {block.message}")
        values.append(block.values)
        rows += len(block.values)
        if rows > many.MAX_DATA_ROWS:
            raise GradcliError(f"{path} has more than {many.MAX_DATA_ROWS} rows, the limit for --data")
    if not values:
        raise GradcliError(f"{path} has a header but no rows of data")
    table = np.concatenate(values)
    return {name: table[:, i] for i, name in enumerate(header) if name in names and name not in start}


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GradcliError(f"--lr {text!r}: give numbers, e.g. 0.1 or 0.01,0.1,0.5") from None
    from gradcli.solve.descent import MAX_RATES

    if not rates:
        raise GradcliError("--lr needs at least one number")
    if len(rates) > MAX_RATES:
        raise GradcliError(f"--lr gives {len(rates)} rates; the limit is {MAX_RATES}")
    return rates


@app.command()
def plot(
    expression: Annotated[
        str, typer.Argument(callback=_stdin_expression, help="One variable: f and its gradient; two: a landscape.")
    ],
    range_: Annotated[str, typer.Option("--range", help="LOW:HIGH for every variable, e.g. -6:6.")] = "-5:5",
    out: Annotated[
        str | None, typer.Option("--out", help="Write a PNG here; without it, draw in the terminal.")
    ] = None,
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Plot a function beside its GradientTape gradient (and sympy's), or a 2-variable landscape with arrows.

    Example: gradcli plot "sigmoid(x)" --range -6:6 --out sigmoid.png
    """
    from gradcli.present import pictures as plots

    lo, hi = plots.parse_range(range_)
    if out is not None:
        from gradcli.runtime.files import plot_path

        out = plot_path(out, "--out")
    constants = _constants(const)
    if len([n for n in plots.free_names_of(expression) if n not in constants]) == 2:
        if out is None:
            raise GradcliError("a two-variable landscape needs --out FILE.png")
        plots.png_landscape(expression, lo, hi, out, constants)
        ENV.stdout.write(f"wrote {out}\n")
        return
    curve = plots.curve(expression, lo, hi, constants)
    if out is None:
        ENV.stdout.write(plots.terminal_curve(curve, color=_has_colour(ENV.stdout)))
        return
    plots.png_curve(curve, out)
    marks = "".join(f"; {m.kind} at {curve.variable} = {m.x:.6g} ({m.what})" for m in curve.marks)
    ENV.stdout.write(f"wrote {out}{marks}\n")


def _has_colour(stream) -> bool:
    """A terminal, unless NO_COLOR (no-color.org) or TERM=dumb says otherwise."""
    tty = getattr(stream, "isatty", lambda: False)()
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


data_app = typer.Typer(help="Synthetic data sets, written as CSV to stdout.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("line")
def data_line(
    slope: Annotated[float, typer.Option("--slope", help="True slope.")] = 2.0,
    intercept: Annotated[float, typer.Option("--intercept", help="True intercept.")] = 1.0,
    noise: Annotated[float, typer.Option("--noise", help="Standard deviation of Gaussian noise on y.")] = 0.1,
    n: Annotated[int, typer.Option("-n", help="Number of points.")] = 100,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed: the same seed gives the same file.")
    ] = 0,
) -> None:
    """Points near the line y = slope*x + intercept, x uniform in [-2, 2]: columns x,y.

    Example: gradcli data line --slope 2 --intercept 1 --noise 0.1 -n 200 --seed 0 > points.csv
    """
    import numpy as np

    if not 1 <= n <= 1_000_000 or noise < 0:
        raise GradcliError("-n must be between 1 and 1000000 and --noise at least 0")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    y = slope * x + intercept + noise * rng.normal(size=n)
    ENV.stdout.write("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True)))


@app.command()
def check(
    expression: Annotated[
        str | None,
        typer.Argument(callback=_stdin_expression, help="The function (or with --implicit, an equation)."),
    ] = None,
    answer: Annotated[
        str | None, typer.Option("--answer", help="The derivative to check; a list for a gradient, [[...]] a Hessian.")
    ] = None,
    wrt: WrtOption = [],  # noqa: B006 - typer reads the default, never mutates it
    at: Annotated[list[str], typer.Option("--at", help="Check a numeric answer at this point.")] = [],  # noqa: B006
    file: Annotated[str | None, typer.Option("--file", help="Grade a CSV: expression,wrt,answer[,at].")] = None,
    output: FormatOption = Format.table,
    order: Annotated[int, typer.Option("--order", help="Derivative order (2 with a matrix: the Hessian).")] = 1,
    implicit: Annotated[
        str | None, typer.Option("--implicit", help="dy/dx on the curve F = 0 (or left = right): the name of y.")
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="Directional derivative along this vector (made unit), e.g. 1,1.")
    ] = None,
    sample_range: Annotated[
        list[str], typer.Option("--range", help="Sample a variable only in [a, b]: name=a:b.")
    ] = [],  # noqa: B006
    rtol: Annotated[float | None, typer.Option("--rtol", help="Accept a relative error up to this.")] = None,
    sig_figs: Annotated[
        int | None, typer.Option("--sig-figs", help="Judge a number answer to this many significant figures.")
    ] = None,
    steps: Annotated[bool, typer.Option("--steps", help="Show the derivation, rule by rule.")] = False,
    latex: Annotated[bool, typer.Option("--latex", help="Show LaTeX of the function and the derivative.")] = False,
) -> None:
    """Check a derivative answer: correct, wrong (with a counterexample and the likely mistake) or undecided.

    Example: gradcli check "x**2 + 2*x" --answer "2*(x+1)"
    """
    from gradcli.grading.check import check as judge
    from gradcli.grading.check import parse_ranges
    from gradcli.lang.values import split_assignments
    from gradcli.present.render import write_check, write_grades

    tolerances = {"rtol": rtol, "sig_figs": sig_figs, "ranges": parse_ranges(sample_range)}
    if file is not None:
        if expression or answer:
            raise GradcliError("--file grades a whole CSV: leave out EXPRESSION and --answer")
        from gradcli.grading import sheet as grading

        grades = grading.grade_file(grading.read(_input_path(file)), **tolerances)
        write_grades(grades, output.value, ENV.stdout)
        raise typer.Exit(max((g.exit_code for g in grades), default=0))
    if expression is None or answer is None:
        raise GradcliError('give EXPRESSION and --answer, e.g. gradcli check "x**2" --answer "2*x"')
    point = dict(pair for option in at for pair in split_assignments(option))
    vector = direction.split(",") if direction is not None else None
    options = {"order": order, "implicit": implicit, "direction": vector, **tolerances}
    result = judge(expression, answer, _split_names(wrt) or None, point or None, **options)
    if steps or latex:
        from dataclasses import replace

        from gradcli.grading.steps import derive
        from gradcli.grading.steps import latex as to_latex

        derived = {name: derive(result.tree, name) for name in result.wrt}
        result = replace(
            result,
            steps={n: s for n, (s, _) in derived.items()} if steps else {},
            latex=to_latex(result.tree, {n: d for n, (_, d) in derived.items()}) if latex else {},
        )
    write_check(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


class WorkerAction(StrEnum):
    start = "start"
    stop = "stop"
    status = "status"


@app.command()
def worker(
    action: Annotated[WorkerAction, typer.Argument(help="start, stop or status.")],
    idle: Annotated[float, typer.Option("--idle", help="Minutes without a request before it exits.")] = 15.0,
) -> None:
    """A warm background process: later calls answer in a fraction of a second (see docs/worker.md).

    Example: gradcli worker start --idle 30
    """
    from gradcli.app import entry as client

    if action == WorkerAction.start:
        try:
            ENV.stdout.write(client.describe(client.start_worker(idle)))
        except client.Unusable as exc:
            raise GradcliError(f"cannot start the worker: {exc}") from None
    elif action == WorkerAction.stop:
        ENV.stdout.write("stopped the worker\n" if client.stop_worker() else "no worker running\n")
    else:
        ENV.stdout.write(client.describe(client.worker_status()))


@app.command()
def batch(
    source: Annotated[str, typer.Argument(help="A file of problems, one per line, or - for stdin.")],
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", help="Lines may write files (--trace, --plot) here, nowhere else.")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Lines may read files (descend --data) here, nowhere else.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Processes to use (default: the machine's cores).")
    ] = None,
) -> None:
    """Many problems, TensorFlow and sympy imported once per process, answers in input order.

    Each line is a JSON object, e.g. {"command": "grad", "expression": "x**2", "at": {"x": 3}},
    or the arguments of a command line, e.g. grad "x**2" --at x=3. The commands it takes:
    grad, jacobian, hessian, check, descend, jvp and vjp. Each answer is one JSON
    line: the object `--format json` prints, plus "line"; a failed problem gives
    {"line", "error", "exit_code"}. Exit status: the highest exit code seen.
    A problems file is untrusted: its lines read and write no files unless --data-dir or
    --output-dir allow it, and then only inside those directories.

    Example: gradcli batch problems.jsonl --jobs 2 > answers.jsonl
    """
    from gradcli.app import batch_helper
    from gradcli.runtime import jobs as parallel

    if jobs is not None and jobs < 1:
        raise GradcliError("--jobs must be at least 1")
    for option, directory in (("--output-dir", output_dir), ("--data-dir", data_dir)):
        if directory is not None and not os.path.isdir(directory):
            raise GradcliError(f"{option} {directory}: not a directory")
    policy = {"confined": True, "output_dir": output_dir, "data_dir": data_dir, "inputs": [source]}
    lines = enumerate(_open(source, keep_going=True), start=1)
    problems = ((n, text) for n, text in lines if not isinstance(text, str) or text.strip()[:1] not in ("", "#"))

    def write(text: str) -> None:
        with streams.whole():
            ENV.stdout.write(text + "\n")
            ENV.stdout.flush()

    count = jobs or parallel.default_jobs()
    raise typer.Exit(parallel.run(problems, count, answer_line, write, policy, batch_helper.HELPER))


def answer_line(number: int, line, policy: dict) -> tuple[int, str]:
    """One batch problem's exit code and JSON answer line; the same in whichever process answers it."""
    from gradcli.runtime.batchfile import arguments
    from gradcli.runtime.files import BadLine

    if isinstance(line, BadLine):
        code, out, err = int(line.error.exit_code), "", f"error: {line.error.describe()}\n"
    else:
        try:
            argv = _given_options(arguments(line))
        except GradcliError as exc:
            code, out, err = int(exc.exit_code), "", f"error: {exc.describe()}\n"
        else:
            nested = {**policy, "inputs": tuple(policy["inputs"])}
            code, out, err = _run_nested([argv[0], "--format", "json", *argv[1:]], nested)
    return code, _answer(number, code, out, err)


def _given_options(argv: list[str]) -> list[str]:
    """Refuse --format however it is spelt (-fcsv, --form...): judged on the options Typer parses, not the text."""
    command = _command().get_command(None, argv[0])
    with command.make_context(argv[0], list(argv[1:]), resilient_parsing=True) as context:
        if context.get_parameter_source("output").name == "COMMANDLINE":
            raise GradcliError("leave out --format: batch answers are always JSON lines")
    return argv


def _run_nested(argv: list[str], policy: dict) -> tuple[int, str, str]:
    """Run one command in this process, capturing what it would print."""
    import io

    global ENV
    outer = ENV
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, Environment(stdout=out, stderr=err, stdin=None, **policy))
    finally:
        ENV = outer
    return code, out.getvalue(), err.getvalue()


def _answer(number: int, code: int, out: str, err: str) -> str:
    import json

    if out.strip():
        try:
            document = json.loads(out)
        except ValueError:
            document = None
        if isinstance(document, dict):
            return json.dumps({"line": number, **document}, separators=(",", ":"))
    message = err.strip().removeprefix("error: ") or "no output"
    return json.dumps({"line": number, "error": message, "exit_code": code}, separators=(",", ":"))


@app.command()
def grad(
    expression: Annotated[str, typer.Argument(callback=_stdin_expression, help='The function, e.g. "x**2 + 2*x - 1".')],
    at: Annotated[
        list[str],
        typer.Option(
            "--at",
            help="Point: name=value[,name=value]. Repeat for more points; a repeated name starts a new point.",
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: WrtOption = [],  # noqa: B006
    watch: WatchOption = [],  # noqa: B006
    output: FormatOption = Format.table,
    dtype: Annotated[
        GradDType, typer.Option("--dtype", help="float64 (default), float32 (TF's default) or int32 (no gradient).")
    ] = GradDType.float64,
    order: Annotated[int, typer.Option("--order", help="Derivative order, by nested tapes (1 to 6).")] = 1,
    clip_value: Annotated[
        str | None, typer.Option("--clip-value", help="tf.clip_by_value on each gradient: MIN:MAX, e.g. -10:10.")
    ] = None,
    clip_norm: Annotated[float | None, typer.Option("--clip-norm", help="tf.clip_by_norm on each gradient.")] = None,
    clip_global_norm: Annotated[
        float | None, typer.Option("--clip-global-norm", help="tf.clip_by_global_norm over all gradients.")
    ] = None,
    stop: Annotated[list[str], typer.Option("--stop", help="Treat these named steps as stop_gradient.")] = [],  # noqa: B006
    of: Annotated[list[str], typer.Option("--of", help="Differentiate these named steps (comma-separated).")] = [],  # noqa: B006
    persistent: Annotated[
        bool, typer.Option("--persistent", help="One persistent tape records every --of target.")
    ] = False,
    custom: Annotated[
        list[str],
        typer.Option(
            "--custom", help='tf.custom_gradient: "name(x) = body : derivative", e.g. "cube(x) = x**3 : 2*x".'
        ),
    ] = [],  # noqa: B006
    points: Annotated[
        str | None, typer.Option("--points", help="A CSV of points (header: variable names), or - for stdin.")
    ] = None,
    on_error: Annotated[
        OnError, typer.Option("--on-error", help="With --points: skip bad rows (exit 2 at the end) or stop.")
    ] = OnError.skip,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="With --points: points per tensor.")] = 10_000,
    steps: Annotated[bool, typer.Option("--steps", help="Show the derivation, rule by rule.")] = False,
    latex: Annotated[bool, typer.Option("--latex", help="Show LaTeX of the function and the derivative.")] = False,
    implicit: Annotated[
        str | None, typer.Option("--implicit", help='dy/dx on a curve, e.g. "x^2 + y^2 = 25" --implicit y.')
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="Directional derivative along this vector (made unit): 1,1.")
    ] = None,
    unconnected: Annotated[
        Unconnected,
        typer.Option("--unconnected", help="A source f does not use: none (None, TF's default) or zero (0)."),
    ] = Unconnected.none,
    frameworks: Annotated[
        bool, typer.Option("--frameworks", help="Also JAX and PyTorch where installed: their conventions at kinks.")
    ] = False,
) -> None:
    """Gradient of EXPRESSION at a point, by GradientTape, sympy and finite differences; without --at, the
    derivative's formula, checked at sample points.

    A list "[f1, f2]" (or a tensor) is several targets: tape.gradient returns the gradient of their sum.

    Example: gradcli grad "x**2 + y**2" --at x=3,y=4
    """
    if implicit is not None or direction is not None:
        _grad_derived(expression, at, wrt, implicit, direction, output)
        return
    if points is not None:
        if at or order != 1 or clip_value or clip_norm or clip_global_norm or stop or of or persistent or custom:
            raise GradcliError("--points works with --const, --wrt, --watch and --dtype only (not --at, --order, ...)")
        _grad_points(expression, points, const, wrt, watch, output, dtype, on_error, chunk_size)
        return
    if not at:
        if const or watch or clip_value or clip_norm or clip_global_norm or stop or of or persistent or custom:
            raise GradcliError("without --at, grad prints the derivative: give --at for --const, --clip-*, --of, ...")
        _derivative(expression, "grad", wrt, output, order, steps, latex)
    from gradcli.lang.values import group_points
    from gradcli.present.render import write
    from gradcli.solve.gradient import grad as compute
    from gradcli.witnesses.clip import parse_clip

    result = compute(
        expression,
        at=group_points(at),
        const=_constants(const),
        wrt=_split_names(wrt) or None,
        watch=_split_names(watch),
        dtype=dtype.value,
        order=order,
        clip=parse_clip(clip_value, clip_norm, clip_global_norm),
        stop=_split_names(stop),
        of=_split_names(of),
        persistent=persistent,
        custom=custom,
        unconnected=unconnected.value,
        frameworks=frameworks,
    )
    if steps or latex:
        result = _with_derivation(result, steps, latex)
    write(result, output.value, ENV.stdout, ENV.stderr)
    raise typer.Exit(result.exit_code)


def _derivative(expression: str, kind: str, wrt, output: Format, order=1, steps=False, latex=False) -> None:
    """No point: the derivative's formula, checked by the tape at sample points."""
    from gradcli.present.render import write_derivative
    from gradcli.solve.formula import derivative

    if output.value not in ("table", "json", "plain"):
        raise GradcliError("without --at, the derivative is written as a table, json or plain")
    result = derivative(expression, kind, _split_names(wrt) or None, order, steps, latex)
    write_derivative(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


def _grad_derived(expression, at, wrt, implicit, direction, output) -> None:
    """grad --implicit / --direction: dy/dx on a curve or D_u f, made from the gradient's three methods."""
    from gradcli.lang.values import group_points
    from gradcli.present.render import write_derived
    from gradcli.solve import derived

    if not at or (implicit is not None and direction is not None):
        raise GradcliError("--implicit and --direction each need a point (--at), and go one at a time")
    points, names = group_points(at), _split_names(wrt) or None
    if implicit is not None:
        result = derived.implicit(expression, implicit, points, names)
    else:
        result = derived.directional(expression, direction.split(","), points, names)
    write_derived(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


def _with_derivation(result, steps: bool, latex: bool):
    """The result with the derivation steps and/or LaTeX of f and each derivative attached."""
    from dataclasses import replace

    from gradcli.grading.steps import derive
    from gradcli.grading.steps import latex as to_latex
    from gradcli.lang.parser import inline, parse_program

    if result.order != 1 or result.summed:
        raise GradcliError("--steps and --latex are for first derivatives of one expression, not of a list")
    tree = list(inline(parse_program(result.input)).values())[-1]
    derived = {name: derive(tree, name) for name in result.wrt}
    extra = {}
    if steps:
        extra["steps"] = {name: s for name, (s, _) in derived.items()}
    if latex:
        extra["latex"] = to_latex(tree, {name: d for name, (_, d) in derived.items()})
    return replace(result, **extra)


def _grad_points(expression, source, const, wrt, watch, output, dtype, on_error, chunk_size) -> None:
    from gradcli.present.render import ChunkWriter, PointsProgress
    from gradcli.solve import points as many

    if output.value not in ("csv", "jsonl", "plain"):
        raise GradcliError("--points writes csv, jsonl or plain: add --format csv (or jsonl, plain)")
    if not 1 <= chunk_size <= many.MAX_CHUNK:
        raise GradcliError(f"--chunk-size must be between 1 and {many.MAX_CHUNK}")
    if source == "-" and ENV.stdin_used:
        raise GradcliError("the expression and --points cannot both come from stdin: give one of them as a file")
    label = "stdin" if source == "-" else source
    header, blocks = many.read_points(_open(source), chunk_size)
    problem = many.prepare_points(
        expression, header, _constants(const), _split_names(wrt) or None, _split_names(watch), dtype.value
    )
    writer = ChunkWriter(output.value, ENV.stdout, problem.variables, problem.differentiated, ENV.stderr, label)
    bad, statuses = 0, set()
    with PointsProgress(ENV.stderr) as progress:
        for item in many.grad_points(problem, header, blocks):
            if isinstance(item, many.BadRow):
                bad += 1
                ENV.stderr.write(f"error: {label} line {item.line}: {item.message}\n")
                if on_error == OnError.stop:
                    break
                continue
            writer.write(item)
            statuses.update(item.status.tolist())
            progress.advance(len(item))
    raise typer.Exit(many.exit_code(bad, statuses))


_OPENED: list = []  # input files opened by commands; main() closes the ones its command opened


def _open(path: str, keep_going: bool = False):
    """The lines of an input file, or of stdin for "-": bounded, decoded, file and line named in errors."""
    from gradcli.runtime.files import open_input, read_lines

    path = _input_path(path)
    if path == "-":
        stream = getattr(ENV.stdin, "buffer", ENV.stdin)
        if stream is None or getattr(stream, "closed", False):
            raise GradcliError("cannot read stdin: it is closed")
        return read_lines(stream, "stdin", keep_going)
    handle = open_input(path)
    _OPENED.append(handle)
    return read_lines(handle, path, keep_going)


ENV = Environment()

# Typer vendors click in recent releases; reach its exception classes through public names.
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code. Invalid input is one 'error:' line on stderr."""
    global ENV
    process = env is None
    ENV = env or Environment(*streams.setup())
    command = _command()
    argv, texts = _expression_argument(command, sys.argv[1:] if argv is None else list(argv))
    from_latex = "--from-latex" in argv[: argv.index("--") if "--" in argv else len(argv)]
    forced = latex.forced.set(from_latex)
    argv = [a for a in argv if a != "--from-latex"] if from_latex else argv
    opened_before = len(_OPENED)
    try:
        code = _dispatch(command, argv)
        if code != ExitCode.INVALID_INPUT:
            _write_reading_notes(texts)
        if process:
            code = _finish(code)
        return code
    except streams.Interrupted as stop:
        if not process:
            raise  # a batch line's command: the whole batch stops
        return stop.exit_code
    finally:  # a nested main (batch) closes only what its own command opened
        latex.forced.reset(forced)
        for handle in _OPENED[opened_before:]:
            handle.close()
        del _OPENED[opened_before:]


def _command():
    if not hasattr(_command, "cached"):  # building Typer's command costs ms; batch asks once per line
        _command.cached = typer.main.get_command(app)
    return _command.cached


def _finish(code: int) -> int:
    """Flush stdout; a failure there is exit 5 like any other output failure, and leaves nothing for exit to retry."""
    try:
        if not getattr(ENV.stdout, "failed", False):
            ENV.stdout.flush()
    except streams.OutputClosed:
        code = int(ExitCode.OK)
    except OutputError as exc:
        ENV.stderr.write(f"error: {exc.describe()}\n")
        code = int(exc.exit_code)
    if getattr(ENV.stdout, "failed", False):
        streams.discard_stdout()
    streams.restore()
    return code


_NOT_EXPRESSIONS = ("-h",)  # not an option of any command, but meant as one


def _expression_argument(group, argv: list[str]) -> tuple[list[str], list[str]]:
    """argv with an expression that starts with '-' (-x^2) moved after '--', so it is not read as an option;
    and the texts the user typed as expressions or answers (for the reading notes)."""
    sub = group.commands.get(argv[0]) if argv and hasattr(group, "commands") else None
    if sub is None or not any(p.name == "expression" and p.param_type_name == "argument" for p in sub.params):
        return argv, []
    takes_value = {o: not p.is_flag for p in sub.params if p.param_type_name == "option" for o in p.opts}
    rest, texts, dashed, i = [argv[0]], [], None, 1
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
        if arg == "--":
            return argv, [*texts, *argv[i + 1 : i + 2]]
        if arg in takes_value and takes_value[arg] and i + 1 < len(argv):
            if arg == "--answer":
                texts.append(argv[i + 1])
            rest += argv[i : i + 2]
            i += 2
            continue
        option_like = arg[:2] == "--" or name in takes_value or arg in _NOT_EXPRESSIONS
        if arg[:1] == "-" and len(arg) > 1 and not option_like and not dashed:
            dashed = arg
        else:
            texts += [] if arg.startswith("-") else [arg]
            rest.append(arg)
        i += 1
    return ([*rest, "--", dashed] if dashed else argv), ([dashed, *texts] if dashed else texts)


def _write_reading_notes(texts: list[str]) -> None:
    """One line per reading that often surprises (1/2x is (1/2)*x), so a student sees what was read."""
    from gradcli.lang.parser import reading_notes

    for text in texts:
        for note in reading_notes(text):
            ENV.stderr.write(f"note: {note}\n")


def _dispatch(command, argv: list[str] | None) -> int:
    try:
        code = command.main(args=argv, prog_name="gradcli", standalone_mode=False)
    except streams.OutputClosed:
        return int(ExitCode.OK)  # the reader went away (| head): not a verdict; stop quietly
    except GradcliError as exc:
        ENV.stderr.write(f"error: {exc.describe()}\n")
        return int(exc.exit_code)
    except _CLICK_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            ENV.stdout.write(exc.ctx.get_help() + "\n")
            return int(ExitCode.OK)
        ENV.stderr.write(f"error: {exc.format_message()}\n")
        return int(ExitCode.INVALID_INPUT)
    except typer.Abort:
        ENV.stderr.write("error: aborted\n")
        return int(ExitCode.INVALID_INPUT)
    except RecursionError:  # a safety net: the parser's depth limit is set so that sympy stays within the stack
        ENV.stderr.write("error: the expression is nested too deeply to work on; nest it less\n")
        return int(ExitCode.INVALID_INPUT)
    except Exception as exc:  # a bug: say so in one line; GRADCLI_DEBUG=1 shows the traceback
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        ENV.stderr.write(f"error: internal error, a bug in gradcli (please report it): {type(exc).__name__}: {exc}\n")
        return int(ExitCode.INTERNAL_ERROR)
    if code == ExitCode.INTERRUPTED:  # Typer turns a KeyboardInterrupt into Exit(130): an interrupt, not a result
        raise streams.Interrupted(2)
    return int(code or 0)
