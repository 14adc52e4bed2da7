"""gradcli's exit codes and its own exceptions: the single home of the CLI contract."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status of every gradcli command."""

    OK = 0  # grad: all methods agree
    DISAGREE = 1  # grad: methods disagree
    INVALID_INPUT = 2  # usage, syntax, unknown name, rejected expression, bad point
    NOT_DIFFERENTIABLE = 3  # not differentiable or not finite at a requested point
    INTERNAL_ERROR = 4  # a bug in gradcli, reported in one line
    OUTPUT_FAILED = 5  # the output could not be written: disk full, file too large, stdout closed
    INTERRUPTED = 130  # Ctrl-C (SIGINT); SIGTERM gives 143, the shell's 128 + signal number


class GradcliError(Exception):
    """Invalid input: the message is one line meant for the user."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, message: str, column: int | None = None, hint: str | None = None):
        self.message = message
        self.column = column
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        """The one line an error prints: user text in it shown safely (see `shown`)."""
        text = self.message
        if self.column is not None:
            text += f" (column {self.column + 1})"
        if self.hint:
            text += f": {self.hint}"
        return shown(text)


def shown(text: str) -> str:
    """Text safe for one terminal line: control, bidi, zero-width and line-separator characters escaped as
    \\uXXXX, so user text in an error can neither reorder, hide nor break the line it is in."""
    import unicodedata

    if text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if c != " " and unicodedata.category(c) in _UNSAFE else c for c in text)


_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class ParseError(GradcliError):
    """The expression or a point value is not in gradcli's expression language."""


class LimitError(GradcliError):
    """The input is valid but larger than gradcli agrees to work on."""


TIME_LIMIT = 20.0  # seconds of work a command may take after its imports (docs/contract.md: an answer or
# an `error:` line within 30 s on a small machine)


class Deadline:
    """The time a command's long loop may take: `check` raises a LimitError that says what was done, once past."""

    def __init__(self, what: str, advice: str, seconds: float | None = None):
        import time

        seconds = TIME_LIMIT if seconds is None else seconds
        self.what, self.advice, self.end, self._clock = what, advice, time.monotonic() + seconds, time.monotonic
        self.seconds = seconds

    def check(self, done: int | None = None, total: int | None = None) -> None:
        if self._clock() <= self.end:
            return
        progress = f" after {done:,} of {total:,}" if done is not None and total is not None else ""
        raise LimitError(f"{self.what} stopped{progress}: past the {self.seconds:g} s time limit; {self.advice}")


class PointError(GradcliError):
    """A --at / --const assignment is malformed or does not match the expression."""


class OutputError(GradcliError):
    """The output (stdout or an output file) could not be written: the environment, not the input."""

    exit_code = ExitCode.OUTPUT_FAILED
