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
    output_fd: int | None = None  # the directories above, opened once by the batch (runtime.files.open_root)
    data_fd: int | None = None
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

    def input_path(self, path: str):
        """A file a command reads: a path anywhere, except in a batch line (a Place under --data-dir)."""
        from gradcli.runtime.files import place

        if not self.confined:
            return path
        if self.data_fd is None:
            raise GradcliError("a batch line cannot read files: run gradcli batch --data-dir DIR to allow files in DIR")
        where = place(self.data_fd, path, "--data-dir")
        self.opened.append(where)
        return where

    def output_path(self, path: str, option: str):
        """A file a command writes: a path anywhere, except in a batch line (a Place under --output-dir)."""
        from gradcli.runtime.files import place

        if not self.confined:
            return path
        if self.output_fd is None:
            raise GradcliError(f"a batch line cannot write files ({option}): run gradcli batch --output-dir DIR")
        where = place(self.output_fd, path, "--output-dir")
        self.opened.append(where)
        return where

    def open_binary(self, path):
        """A binary handle on an input file (a path, or a Place from input_path); closed when the command ends."""
        from gradcli.runtime.files import Place, open_input, open_place

        handle = open_place(path, "--data-dir") if isinstance(path, Place) else open_input(path)
        self.opened.append(handle)
        return handle

    def open(self, path: str, keep_going: bool = False):
        """The lines of an input file, or of stdin for "-": bounded, decoded, file and line named in errors."""
        from gradcli.runtime.files import read_lines

        path = self.input_path(path) if isinstance(path, str) else path
        if path == "-":
            stream = getattr(self.stdin, "buffer", self.stdin)
            if stream is None or getattr(stream, "closed", False):
                raise GradcliError("cannot read stdin: it is closed")
            return read_lines(stream, "stdin", keep_going)
        return read_lines(self.open_binary(path), str(path), keep_going)

    def close(self) -> None:
        for handle in self.opened:
            handle.close()
        self.opened.clear()


def _to_dict(result) -> dict:
    return result.to_dict()
