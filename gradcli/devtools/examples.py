"""The examples in the README (and docs pages) are real runs: this module runs them and checks or refreshes them.

A ```console block holds commands, each on a line starting with `$ `, each followed by its output
(stdout, then stderr). `gradcli ...` runs in-process, exactly as `cli.main` would from a shell with
output on a pipe; `... | gradcli ...` takes the left side's output as stdin, and `gradcli ... < FILE` and `> FILE` read
and write files; `echo $?` prints the last exit code; `cat FILE` of a file that does not exist yet
creates it with the output shown (a page shows a data file once, and the commands after it read it);
any other line (`printf ... > file`) runs in bash. All of a file's blocks share
one temporary directory, in order, so one block can write a file that the next one reads.

    python -m gradcli.devtools.examples README.md            # rewrite the outputs in place
    python -m gradcli.devtools.examples --check README.md    # exit 1 where an output is stale

Examples whose numbers are not reproducible (timings) do not belong in a console block.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BLOCK = re.compile(r"(```console\n)(.*?)(```)", re.S)
PROMPT = "$ "


@dataclass
class Example:
    command: str
    output: str


def parse(block: str) -> list[Example]:
    examples: list[Example] = []
    for line in block.splitlines(keepends=True):
        if line.startswith(PROMPT):
            examples.append(Example(line[len(PROMPT) :].rstrip("\n"), ""))
        elif examples:
            examples[-1].output += line
    return examples


class Session:
    """One directory and the last exit code, shared by a file's examples."""

    def __init__(self, cwd: str):
        self.cwd = cwd
        self.code = 0

    def run(self, command: str, shown: str = "") -> str:
        if command == "echo $?":
            return f"{self.code}\n"
        words = shlex.split(command)
        if len(words) == 2 and words[0] == "cat" and not (Path(self.cwd) / words[1]).exists():
            (Path(self.cwd) / words[1]).write_text(shown, encoding="utf-8")
        stdin, _, rest = command.rpartition(" | ")
        words = shlex.split(rest)
        if not words or words[0] != "gradcli":
            return self._shell(command)
        feed = self._shell(stdin) if stdin else ""
        words, source, target = _redirections(words)
        if source:
            feed = (Path(self.cwd) / source).read_text(encoding="utf-8")
        output = self._gradcli(words[1:], feed)
        if target:
            out, _, err = output.partition(_STDERR)
            (Path(self.cwd) / target).write_text(out, encoding="utf-8")
            return err
        return output.replace(_STDERR, "")

    def _shell(self, command: str) -> str:
        proc = subprocess.run(["bash", "-c", command], cwd=self.cwd, capture_output=True, text=True)
        self.code = proc.returncode
        return proc.stdout + proc.stderr

    def _gradcli(self, argv: list[str], stdin: str) -> str:
        from gradcli.app.main import Environment, main

        out, err = io.StringIO(), io.StringIO()
        here = os.getcwd()
        os.chdir(self.cwd)
        try:
            self.code = main(argv, Environment(stdout=out, stderr=err, stdin=io.StringIO(stdin)))
        finally:
            os.chdir(here)
        return out.getvalue() + _STDERR + err.getvalue()


_STDERR = "\x00stderr\x00"  # where stdout ends and stderr begins, until the two are joined


def _redirections(words: list[str]) -> tuple[list[str], str | None, str | None]:
    """The words without `< FILE` and `> FILE`, and those files."""
    source = target = None
    kept: list[str] = []
    pending = None
    for word in words:
        if pending:
            source, target = (word, target) if pending == "<" else (source, word)
            pending = None
        elif word in ("<", ">"):
            pending = word
        else:
            kept.append(word)
    return kept, source, target


def refresh(text: str) -> tuple[str, list[str]]:
    """(the text with every example's output rerun, the commands whose output changed)."""
    stale: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gradcli-examples-") as cwd:
        session = Session(cwd)

        def block(match: re.Match) -> str:
            lines = []
            for example in parse(match.group(2)):
                output = session.run(example.command, example.output)
                if output != example.output:
                    stale.append(example.command)
                lines.append(f"{PROMPT}{example.command}\n{output}")
            return match.group(1) + "".join(lines) + match.group(3)

        return BLOCK.sub(block, text), stale


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    failed = False
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        new, stale = refresh(text)
        for command in stale:
            print(f"{path}: stale output: $ {command}", file=sys.stderr)
        if check:
            failed |= bool(stale)
        elif new != text:
            Path(path).write_text(new, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
