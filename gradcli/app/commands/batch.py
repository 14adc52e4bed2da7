"""gradcli batch: many problems, TensorFlow and sympy imported once per process, answers in input order."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from gradcli.app.environment import Environment, Runner
from gradcli.errors import GradcliError
from gradcli.runtime import streams

HELPER = [sys.executable, "-m", "gradcli.app.batch_helper"]  # a helper process of --jobs N


def batch(
    ctx: typer.Context,
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
    from gradcli.runtime import jobs as parallel
    from gradcli.runtime.files import open_root

    env = ctx.obj
    if jobs is not None and jobs < 1:
        raise GradcliError("--jobs must be at least 1")
    roots = {
        key: None if directory is None else open_root(directory, option)
        for key, option, directory in (("output_fd", "--output-dir", output_dir), ("data_fd", "--data-dir", data_dir))
    }
    env.opened += [_Descriptor(fd) for fd in roots.values() if fd is not None]
    policy = {"confined": True, "output_dir": output_dir, "data_dir": data_dir, "inputs": [source], **roots}
    lines = enumerate(env.open(source, keep_going=True), start=1)
    problems = ((n, text) for n, text in lines if not isinstance(text, str) or text.strip()[:1] not in ("", "#"))

    def write(text: str) -> None:
        with streams.whole():
            env.stdout.write(text + "\n")
            env.stdout.flush()

    answer = functools.partial(answer_line, runner=env.runner)
    count = jobs or parallel.default_jobs()
    raise typer.Exit(parallel.run(problems, count, answer, write, policy, HELPER))


@dataclass(frozen=True)
class _Descriptor:
    """An allowed directory's descriptor, closed with the batch's other files (Environment.close)."""

    fd: int

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def answer_line(number: int, line, policy: dict, runner: Runner) -> tuple[int, str]:
    """One batch problem's exit code and JSON answer line; the same in whichever process answers it."""
    from gradcli.runtime.batchfile import arguments
    from gradcli.runtime.files import BadLine

    if isinstance(line, BadLine):
        return int(line.error.exit_code), _failed(number, int(line.error.exit_code), f"error: {line.error.describe()}")
    try:
        argv = _given_options(runner, arguments(line))
    except GradcliError as exc:
        return int(exc.exit_code), _failed(number, int(exc.exit_code), f"error: {exc.describe()}")
    code, documents, err = _run_nested(runner, [argv[0], "--format", "json", *argv[1:]], policy)
    if len(documents) == 1 and isinstance(documents[0], dict):
        return code, _dumps({"line": number, **documents[0]})
    return code, _failed(number, code, err)


def _given_options(runner: Runner, argv: list[str]) -> list[str]:
    """Refuse --format however it is spelt (-fcsv, --form...): judged on the options Typer parses, not the text."""
    command = runner.command().get_command(None, argv[0])
    with command.make_context(argv[0], list(argv[1:]), resilient_parsing=True) as context:
        if context.get_parameter_source("output").name == "COMMANDLINE":
            raise GradcliError("leave out --format: batch answers are always JSON lines")
    return argv


def _run_nested(runner: Runner, argv: list[str], policy: dict) -> tuple[int, list, str]:
    """Run one command in this process; what it answers, as data, and what it would print on stderr."""
    import io

    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, stdin=None, documents=[], runner=runner, **policy)
    env.inputs = tuple(policy["inputs"])
    code = runner.run(argv, env)
    return code, env.documents, err.getvalue()


def _failed(number: int, code: int, err: str) -> str:
    message = err.strip().removeprefix("error: ") or "no output"
    return _dumps({"line": number, "error": message, "exit_code": code})


def _dumps(document: dict) -> str:
    import json

    return json.dumps(document, separators=(",", ":"))
