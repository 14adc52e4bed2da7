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
from gradcli.errors import ExitCode, GradcliError

app = typer.Typer(
    name="gradcli",
    help="Gradients three ways: TensorFlow's GradientTape, sympy, and finite differences.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


@dataclass
class Environment:
    """The streams a command writes to; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)


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
    """


def _split_names(options: list[str]) -> list[str]:
    return [name.strip() for option in options for name in option.split(",") if name.strip()]


def _constants(options: list[str]) -> dict[str, str]:
    from gradcli.points import split_assignments

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
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json, csv or plain.")]
DTypeOption = Annotated[DType, typer.Option("--dtype", help="float64 (default) or float32, TF's default.")]


@app.command()
def jacobian(
    expression: Annotated[str, typer.Argument(help='A list of expressions, "[x*y, x + y]", or a tensor expression.')],
    at: AtOption,
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: WrtOption = [],  # noqa: B006
    watch: WatchOption = [],  # noqa: B006
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Jacobian by tape.jacobian, beside sympy's Matrix.jacobian and finite differences.

    Example: gradcli jacobian "[x*y, x + y, sin(x)]" --at x=1,y=2
    """
    from gradcli.matrix import jacobian as compute

    _run_matrix(compute, expression, at, const, wrt, watch, output, dtype)


@app.command()
def hessian(
    expression: Annotated[str, typer.Argument(help='A scalar expression, e.g. "x**2*y + sin(x*y)".')],
    at: AtOption,
    const: ConstOption = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: WrtOption = [],  # noqa: B006
    watch: WatchOption = [],  # noqa: B006
    output: FormatOption = Format.table,
    dtype: DTypeOption = DType.float64,
) -> None:
    """Hessian by nested GradientTapes, beside sympy's second derivatives and finite differences.

    Example: gradcli hessian "x**2*y + sin(x*y)" --at x=1,y=2
    """
    from gradcli.matrix import hessian as compute

    _run_matrix(compute, expression, at, const, wrt, watch, output, dtype)


def _run_matrix(compute, expression, at, const, wrt, watch, output, dtype) -> None:
    from gradcli.points import group_points
    from gradcli.render import write

    result = compute(
        expression,
        at=group_points(at),
        const=_constants(const),
        wrt=_split_names(wrt) or None,
        watch=_split_names(watch),
        dtype=dtype.value,
    )
    write(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


@app.command()
def grad(
    expression: Annotated[str, typer.Argument(help='The function, e.g. "x**2 + 2*x - 1".')],
    at: Annotated[
        list[str],
        typer.Option(
            "--at",
            help="Point: name=value[,name=value]. Repeat for more points; a repeated name starts a new point.",
        ),
    ],
    const: Annotated[
        list[str], typer.Option("--const", help="A constant (tf.constant, not watched): name=value.")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: Annotated[list[str], typer.Option("--wrt", help="Differentiate only with respect to these names.")] = [],  # noqa: B006
    watch: Annotated[list[str], typer.Option("--watch", help="tape.watch() these constants.")] = [],  # noqa: B006
    output: Annotated[Format, typer.Option("--format", "-f", help="table, json, csv or plain.")] = Format.table,
    dtype: Annotated[
        DType, typer.Option("--dtype", help="float64 (default) or float32, TF's default.")
    ] = DType.float64,
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
) -> None:
    """Gradient of EXPRESSION at a point, by GradientTape, sympy and finite differences.

    Example: gradcli grad "x**2 + y**2" --at x=3,y=4
    """
    from gradcli.api import grad as compute
    from gradcli.clip import parse_clip
    from gradcli.points import group_points
    from gradcli.render import write

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
    )
    write(result, output.value, ENV.stdout)
    raise typer.Exit(result.exit_code)


ENV = Environment()

# Typer vendors click in recent releases; reach its exception classes through public names.
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code. Invalid input is one 'error:' line on stderr."""
    global ENV
    ENV = env or Environment()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="gradcli", standalone_mode=False)
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
    except Exception as exc:  # a bug: say so in one line; GRADCLI_DEBUG=1 shows the traceback
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        ENV.stderr.write(f"error: internal error, a bug in gradcli (please report it): {type(exc).__name__}: {exc}\n")
        return int(ExitCode.INTERNAL_ERROR)
    return int(code or 0)
