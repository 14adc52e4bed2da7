"""The process's streams and signals, made safe for a command line tool.

Whatever the environment does (stdout closed, full or too small; stdin or stderr closed;
an ASCII-only locale; Ctrl-C or SIGTERM), gradcli ends with a documented exit code and
at most one `error:` line, never a traceback: writing output that fails is exit 5,
an interrupt is 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys

from gradcli.errors import OutputError

_STOPPING = (signal.SIGINT, signal.SIGTERM)
# An ASCII or Latin-1 terminal: the symbols gradcli prints, spelt in ASCII (anything else becomes "?");
# one character for one where a table's columns depend on it
_ASCII = str.maketrans(
    {"∂": "d", "≈": "~", "≠": "!=", "≤": "<=", "≥": ">=", "→": "->", "×": "x", "·": "*", "−": "-", "…": "...",
     "✓": "v", "✗": "x", "√": "sqrt", "∛": "cbrt", "∞": "inf", "π": "pi", "—": "-", "–": "-", "’": "'", "“": '"',
     "”": '"',
     **{sup: str(digit) for digit, sup in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}}
)  # fmt: skip


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, it is not an error of the input
    """A stop signal arrived; a BaseException so no `except Exception` (ours, Typer's) takes it for a result."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.exit_code = 128 + signum


class OutputClosed(Exception):
    """stdout's reader closed the pipe (`| head`): not a failure, the reader has what it wanted."""


class Stdout:
    """stdout, turning a broken pipe into OutputClosed and any other write failure into OutputError."""

    def __init__(self, stream):
        self.stream = stream
        self.failed = False

    def write(self, text: str) -> int:
        if self.stream is not None and not _unicode(self.stream):
            text = text.translate(_ASCII)
        return self._guard("write", text)

    def flush(self) -> None:
        self._guard("flush")

    def _guard(self, method: str, *args):
        if self.stream is None:
            self.failed = True
            raise OutputError("cannot write output: stdout is closed")
        try:
            return getattr(self.stream, method)(*args)
        except BrokenPipeError:
            self.failed = True
            raise OutputClosed from None
        except OSError as exc:
            self.failed = True
            raise OutputError(f"cannot write output: {exc.strerror or exc}") from None

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    def __getattr__(self, name):
        return getattr(self.stream, name)


class Stderr:
    """stderr that never fails: with stderr closed or full, the exit code alone tells what happened."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            return self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.stream.flush()

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def setup():
    """(stdout, stderr, stdin) for the real process, with signals set to end it cleanly."""
    _reserve_closed_descriptors()
    for signum in _STOPPING:
        signal.signal(signum, _stop)
    if hasattr(signal, "SIGXFSZ"):  # past `ulimit -f`, let write() fail with EFBIG instead of the process dying
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if isinstance(getattr(sys.stdout, "buffer", None), io.RawIOBase):
        # PYTHONUNBUFFERED: text goes straight to a raw file, whose short writes (past `ulimit -f`) are
        # silently dropped; a buffered writer retries them and raises EFBIG
        raw = sys.stdout
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw.buffer), raw.encoding, raw.errors, line_buffering=True)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not _unicode(stream):
            stream.reconfigure(errors="replace")  # an ASCII or Latin-1 locale: "?" for what it cannot show
    sys.stdout = Stdout(sys.stdout)  # Typer's own output (--help) goes through the same guard
    return sys.stdout, Stderr(sys.stderr), sys.stdin


def restore() -> None:
    """Give Python back its own stdout for the flush at exit (a failed one was already sent to /dev/null)."""
    if isinstance(sys.stdout, Stdout):
        sys.stdout = sys.stdout.stream


def _stop(signum, frame):
    raise Interrupted(signum)


def _unicode(stream) -> bool:
    return (getattr(stream, "encoding", None) or "").lower().replace("-", "").startswith("utf")


def _reserve_closed_descriptors() -> None:
    """Put /dev/null on a closed 0, 1 or 2, so a file gradcli opens never lands there and gets our output."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one


def discard_stdout() -> None:
    """After stdout failed, send what Python still holds for it to /dev/null, so exiting cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def whole():
    """Hold back Ctrl-C and SIGTERM while a line is written, so the output ends with a whole line."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
