"""The command line: argv -> exit code, and the one place that maps exceptions to exit codes.

Each command is a module of gradcli.app.commands (options -> one library call -> one render call -> exit
code); the Environment (streams, batch policy) reaches them as Typer's context object. TensorFlow, sympy and
numpy are imported inside the commands, so --help, --version and usage errors stay fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from gradcli import __version__
from gradcli.app.commands import batch, check, data, descend, grad, matrix, plot, products, serve, worker
from gradcli.app.environment import Environment, Runner
from gradcli.errors import ExitCode, GradcliError, OutputError, shown
from gradcli.runtime import streams

__all__ = ["Environment", "app", "main"]

app = typer.Typer(
    name="gradcli",
    help="Gradients three ways: TensorFlow's GradientTape, sympy, and finite differences.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


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


for command in (matrix.jacobian, matrix.hessian, products.jvp, products.vjp, descend.descend, plot.plot):
    app.command()(command)
app.add_typer(data.data_app, name="data")
for command in (check.check, worker.worker, batch.batch, grad.grad, serve.serve):
    app.command()(command)


# Typer vendors click in recent releases; reach its exception classes through public names.
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code. Invalid input is one 'error:' line on stderr."""
    process = env is None
    env = env or Environment(*streams.setup())
    env.runner = env.runner or RUNNER
    command = _command()
    argv, texts = _expression_argument(command, sys.argv[1:] if argv is None else list(argv))
    env.from_latex = "--from-latex" in argv[: argv.index("--") if "--" in argv else len(argv)]
    argv = [a for a in argv if a != "--from-latex"] if env.from_latex else argv
    try:
        code = _dispatch(command, argv, env)
        if code != ExitCode.INVALID_INPUT:
            _write_reading_notes(texts, env)
        if process:
            code = _finish(code, env)
        return code
    except streams.Interrupted as stop:
        if not process:
            raise  # a batch line's command: the whole batch stops
        return stop.exit_code
    finally:
        env.close()


def _command():
    if not hasattr(_command, "cached"):  # building Typer's command costs ms; batch asks once per line
        _command.cached = typer.main.get_command(app)
    return _command.cached


def _finish(code: int, env: Environment) -> int:
    """Flush stdout; a failure there is exit 5 like any other output failure, and leaves nothing for exit to retry."""
    try:
        if not getattr(env.stdout, "failed", False):
            env.stdout.flush()
    except streams.OutputClosed:
        code = int(ExitCode.OK)
    except OutputError as exc:
        env.stderr.write(f"error: {exc.describe()}\n")
        code = int(exc.exit_code)
    if getattr(env.stdout, "failed", False):
        streams.discard_stdout()
    streams.restore()
    return code


RUNNER = Runner(run=main, command=_command)  # how batch lines run their command, in this process or a helper

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


def _write_reading_notes(texts: list[str], env: Environment) -> None:
    """One line per reading that often surprises (1/2x is (1/2)*x), so a student sees what was read."""
    from gradcli.grading.question import equation_reading
    from gradcli.lang.parser import problem_names

    variables = None  # an answer's names are the problem's variables (xy in an answer in x and y is x*y)
    for text in texts:
        for note in equation_reading(text, env.from_latex, variables):
            env.stderr.write(f"note: {note.message}\n")
        variables = variables or problem_names(text, latex=env.from_latex)


def _dispatch(command, argv: list[str] | None, env: Environment) -> int:
    """The command's exit code; every exception it raises becomes one `error:` line and an exit code here."""
    try:
        code = command.main(args=argv, prog_name="gradcli", standalone_mode=False, obj=env)
    except streams.OutputClosed:
        return int(ExitCode.OK)  # the reader went away (| head): not a verdict; stop quietly
    except GradcliError as exc:
        env.stderr.write(f"error: {exc.describe()}\n")
        return int(exc.exit_code)
    except _CLICK_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            env.stdout.write(exc.ctx.get_help() + "\n")
            return int(ExitCode.OK)
        message = " ".join(exc.format_message().split())  # click lists choices on lines of their own: one line
        env.stderr.write(f"error: {shown(message)}\n")
        return int(ExitCode.INVALID_INPUT)
    except typer.Abort:
        env.stderr.write("error: aborted\n")
        return int(ExitCode.INVALID_INPUT)
    except RecursionError:  # a safety net: the parser's depth limit is set so that sympy stays within the stack
        env.stderr.write("error: the expression is nested too deeply to work on; nest it less\n")
        return int(ExitCode.INVALID_INPUT)
    except Exception as exc:  # a bug: say so in one line; GRADCLI_DEBUG=1 shows the traceback
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        message = shown(f"{type(exc).__name__}: {exc}")
        env.stderr.write(f"error: internal error, a bug in gradcli (please report it): {message}\n")
        return int(ExitCode.INTERNAL_ERROR)
    if code == ExitCode.INTERRUPTED:  # Typer turns a KeyboardInterrupt into Exit(130): an interrupt, not a result
        raise streams.Interrupted(2)
    return int(code or 0)
