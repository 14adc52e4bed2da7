"""Files in and out: bounded, encoding-aware line reading, checked output paths and atomic writes.

Every reader of a user's file (--points, check --file, batch, descend --data) reads
lines through `read_lines`, so no line is ever read whole when it is unbounded (/dev/zero,
a file of NULs), bytes that are not text name the file and line, and UTF-16/32 files
with a byte-order mark are simply decoded. Every output file (PNG, --trace) is written
by `atomic_write`: to a temporary file beside it, renamed into place only when whole,
so a full disk, an error or Ctrl-C leaves the old file as it was.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from gradcli.errors import GradcliError, LimitError, OutputError

MAX_LINE_BYTES = 1 << 17  # 128 KiB: far beyond any real row (and within csv's field limit); refuses /dev/zero at once
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
MAX_FILE_BYTES = 64 << 20  # a file read whole (check --file): 100,000 rows of 600 bytes
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


class LineError(GradcliError):
    """One line of an input file cannot be read as text; the message names the file and line."""


@dataclass(frozen=True)
class BadLine:
    """A line that could not be decoded, yielded in place of its text when the reader goes on."""

    number: int
    error: LineError


def open_input(path: str):
    """A binary handle on a user's input file, with the OS's reason in the error when it cannot be opened."""
    if not path:
        raise GradcliError("an input file name is empty")
    try:
        return open(path, "rb")  # noqa: SIM115 - read lazily while streaming; the caller closes it
    except OSError as exc:  # a directory is IsADirectoryError here
        raise GradcliError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_lines(stream, label: str, keep_going: bool = False) -> Iterator[str | BadLine]:
    """The text lines of a binary stream (or a text one, as tests pass), each at most MAX_LINE_BYTES.

    UTF-8 is expected; UTF-16 and UTF-32 with a byte-order mark are decoded. A line that is not
    UTF-8 raises LineError, or with keep_going is yielded as a BadLine and reading goes on (batch
    answers the good lines around it). A line that is too long, a NUL byte (a binary file, such
    as /dev/urandom, never ends) or a read that fails always ends the reading with an error.
    """
    if isinstance(stream, io.TextIOBase):
        yield from _text_lines(stream, label)
        return
    head = _peek(stream, label)
    wide = next((encoding for bom, encoding in _BOMS if head.startswith(bom)), "utf-8")
    if wide != "utf-8":
        stream.read(len(next(bom for bom, encoding in _BOMS if encoding == wide)))
        text = io.TextIOWrapper(stream, encoding=wide, errors="strict", newline="")
        yield from _text_lines(text, label)
        return
    for number, line in _bounded(stream, label):
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = LineError(
                f"{label} line {number}: not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                "save the file as UTF-8"
            )
            if not keep_going:
                raise error from None
            yield BadLine(number, error)


def read_bytes(stream, label: str) -> bytes:
    """A whole file for a reader that wants bytes (class files): each line bounded, NUL refused, at most
    MAX_FILE_BYTES in all; UTF-16/32 with a byte-order mark come back as UTF-8."""
    head = _peek(stream, label)
    if any(head.startswith(bom) for bom, encoding in _BOMS if encoding != "utf-8"):
        lines = read_lines(stream, label)
    else:
        lines = (line for _, line in _bounded(stream, label))
    chunks, total = [], 0
    for line in lines:
        chunk = line.encode("utf-8") if isinstance(line, str) else line
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise LimitError(f"{label} is larger than {MAX_FILE_BYTES >> 20} MiB, the limit for a whole-file read")
        chunks.append(chunk)
    return b"".join(chunks)


def _text_lines(stream, label: str) -> Iterator[str]:
    yield from (line for _, line in _bounded(stream, label))


def _bounded(stream, label: str):
    """(number, line) pairs, never reading more than MAX_LINE_BYTES + 1 of one line."""
    number = 0
    while True:
        number += 1
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
        except UnicodeDecodeError as exc:
            raise LineError(f"{label} line {number}: not text in its declared encoding ({exc.reason})") from exc
        except OSError as exc:
            raise GradcliError(f"cannot read {label}: {exc.strerror or exc}") from exc
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            raise LineError(f"{label} line {number} is longer than {MAX_LINE_BYTES >> 10} KiB: not a data file")
        if (b"\x00" if isinstance(line, bytes) else "\x00") in line:  # no text has one: the rest is not text either
            raise LineError(f"{label} line {number}: binary data (a NUL byte), not a text file")
        yield number, line


def _peek(stream, label: str) -> bytes:
    try:
        return stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    except OSError as exc:
        raise GradcliError(f"cannot read {label}: {exc.strerror or exc}") from exc


# ---------------------------------------------------------------- output files


def check_output(path: str, option: str, inputs: tuple[str, ...] = ()) -> str:
    """Refuse, before any work, an output path that cannot be written or would overwrite an input."""
    if not path or not path.strip():
        raise GradcliError(f"{option}: give a file name")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise GradcliError(f"{option} {path}: the directory {directory} does not exist")
    if os.path.lexists(path):
        mode = os.stat(path).st_mode if os.path.exists(path) else 0
        if not stat.S_ISREG(mode):
            raise GradcliError(f"{option} {path}: not a regular file; give the name of a file to (over)write")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise GradcliError(f"{option} {path}: cannot write in {directory}: permission denied")
    for source in inputs:
        if source and _same_file(path, source):
            raise GradcliError(f"{option} {path} is also an input file; writing it would destroy the input")
    return path


def confine(path: str, root: str, option: str) -> str:
    """`path` inside `root` (a batch line's file): relative, no "..", and no symlink leading out."""
    if not path or path == "-" or os.path.isabs(path) or ".." in path.replace("\\", "/").split("/"):
        raise GradcliError(f"{path!r}: a batch line names a file inside {option} by a relative path, without '..'")
    full = os.path.join(root, path)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(full)]) != real_root:
        raise GradcliError(f"{path!r} leads outside {option} (through a symbolic link)")
    return full


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def plot_path(path: str, option: str, inputs: tuple[str, ...] = ()) -> str:
    """The picture's real file name: .png added when there is no suffix; other suffixes than png, pdf, svg refused."""
    if not path or not path.strip():
        raise GradcliError(f"{option}: give a file name, e.g. plot.png")
    if os.path.exists(path) and not os.path.isfile(path):
        raise GradcliError(f"{option} {path}: not a regular file; give the name of a file to (over)write")
    suffix = os.path.splitext(path)[1].lower()
    if not suffix:
        path += ".png"
    elif suffix not in PLOT_SUFFIXES:
        raise GradcliError(f"{option} {path}: write .png, .pdf or .svg")
    return check_output(path, option, inputs)


@contextlib.contextmanager
def atomic_write(path: str, binary: bool = False):
    """A handle on a temporary file beside `path`; renamed onto it only if the block ends without error."""
    target = os.path.realpath(path)  # through a symlink to the file it names, as open() would
    directory = os.path.dirname(target)
    suffix = os.path.splitext(target)[1]
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".gradcli-", suffix=suffix)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _keep_mode(target, temp)
        os.replace(temp, target)
    except OSError as exc:
        _discard(temp)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        _discard(temp)
        raise


def _keep_mode(target: str, temp: str) -> None:
    """A new file gets the usual mode (mkstemp makes 0600); an old file keeps its own."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temp, mode)


def _discard(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)
