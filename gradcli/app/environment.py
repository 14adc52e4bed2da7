"""The Environment a command runs in: its streams and the batch policy, passed as Typer's context object."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from gradcli.errors import GradcliError


@dataclass(frozen=True)
class Runner:
    """How to run one command line in this process (gradcli.app.main gives it): for batch lines."""

    run: Callable  # run(argv, env) -> exit code
    command: Callable  # command() -> the click group of every command


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
    from_latex: bool = False  # --from-latex: the expression and the answer are read as LaTeX
    documents: list | None = None  # a batch line: the JSON documents it answers, kept as data, not printed
    runner: Runner | None = None
    opened: list = field(default_factory=list)  # input files the command opened; main closes them

    def render(self, write: Callable, subject, fmt: str, notes: bool = False) -> None:
        """A command's one render call: `write(subject, fmt, stdout[, stderr])`, or in a batch line its
        JSON document, kept as data."""
        if self.documents is not None and fmt == "json":
            from gradcli.present import descent, grading

            documents = {descent.write_descent: descent.descent_document, grading.write_grades: grading.grades_document}
            self.documents.append(documents.get(write, _to_dict)(subject))
        elif notes:
            write(subject, fmt, self.stdout, self.stderr)
        else:
            write(subject, fmt, self.stdout)

    def input_path(self, path: str) -> str:
        """A file a command reads: anywhere, except in a batch line (only under --data-dir)."""
        from gradcli.runtime.files import confine

        if not self.confined:
            return path
        if self.data_dir is None:
            raise GradcliError("a batch line cannot read files: run gradcli batch --data-dir DIR to allow files in DIR")
        return confine(path, self.data_dir, "--data-dir")

    def output_path(self, path: str, option: str) -> str:
        """A file a command writes: anywhere, except in a batch line (only under --output-dir)."""
        from gradcli.runtime.files import confine

        if not self.confined:
            return path
        if self.output_dir is None:
            raise GradcliError(f"a batch line cannot write files ({option}): run gradcli batch --output-dir DIR")
        return confine(path, self.output_dir, "--output-dir")

    def open(self, path: str, keep_going: bool = False):
        """The lines of an input file, or of stdin for "-": bounded, decoded, file and line named in errors."""
        from gradcli.runtime.files import open_input, read_lines

        path = self.input_path(path)
        if path == "-":
            stream = getattr(self.stdin, "buffer", self.stdin)
            if stream is None or getattr(stream, "closed", False):
                raise GradcliError("cannot read stdin: it is closed")
            return read_lines(stream, "stdin", keep_going)
        handle = open_input(path)
        self.opened.append(handle)
        return read_lines(handle, path, keep_going)

    def close(self) -> None:
        for handle in self.opened:
            handle.close()
        self.opened.clear()


def _to_dict(result) -> dict:
    return result.to_dict()
