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
import errno
import io
import os
import re
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
# A carriage return ends a line as a newline does (old Mac files, a stray CR), as Python's text files read them.
_LINE_ENDS = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class LineError(GradcliError):
    """One line of an input file cannot be read as text; the message names the file and line."""


@dataclass(frozen=True)
class BadLine:
    """A line that could not be decoded, yielded in place of its text when the reader goes on."""

    number: int
    error: LineError


def open_input(path: str):
    """A binary handle on a user's input file, with the OS's reason in the error when it cannot be opened.

    Opened without blocking, so a FIFO with no writer reads as empty instead of waiting forever."""
    if not path:
        raise GradcliError("an input file name is empty")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise GradcliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError:  # a NUL byte in the name
        raise GradcliError(f"cannot read {path!r}: a file name has no NUL byte") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise GradcliError(f"cannot read {path}: {os.strerror(errno.EISDIR)}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


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
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = LineError(
                f"{label} line {number}: not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                "save the file as UTF-8"
            )
            if not keep_going:
                raise error from None
            yield BadLine(number, error)
            continue
        yield from _LINE_ENDS.findall(text) if "\r" in text else (text,)


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


def read_rows(stream, label: str) -> Iterator[tuple[int, str | LineError]]:
    """(number, text) for each line of a class file, judged one by one: a line with a NUL byte, over
    MAX_LINE_BYTES or not UTF-8 comes back as (number, LineError) and reading goes on at the next line.

    An over-long line is skipped to its end without being kept; at most MAX_FILE_BYTES are read in all
    (a file of NULs without a newline ends there). UTF-16/32 with a byte-order mark are decoded whole."""
    head = _peek(stream, label)
    if any(head.startswith(bom) for bom, encoding in _BOMS if encoding != "utf-8"):
        yield from enumerate(read_lines(stream, label), start=1)
        return
    number, total = 0, 0
    while True:
        number += 1
        line = _readline(stream, label, MAX_LINE_BYTES + 1)
        if not line:
            return
        total += len(line)
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            total += _skip_line(stream, label, number, MAX_FILE_BYTES - total)
        if total > MAX_FILE_BYTES:
            raise LimitError(f"{label} is larger than {MAX_FILE_BYTES >> 20} MiB, the limit for a whole-file read")
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        text = _row_text(line, number)
        if isinstance(text, str) and "\r" in text:  # an old Mac file: each CR ends a line too
            parts = [part.rstrip("\r\n") for part in _LINE_ENDS.findall(text)]
            for part in parts[:-1]:
                yield number, part
                number += 1
            text = parts[-1]
        yield number, text


def _row_text(line: bytes, number: int) -> str | LineError:
    if len(line) > MAX_LINE_BYTES:
        return LineError(f"line {number}: longer than {MAX_LINE_BYTES >> 10} KiB, not a row of a class file")
    if b"\x00" in line:
        return LineError(f"line {number}: binary data (a NUL byte), not text")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(
            f"line {number}: not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1}): "
            "save the file as UTF-8"
        )
    return text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text


def _readline(stream, label: str, limit: int) -> bytes:
    try:
        line = stream.readline(limit)
        return line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line  # a test's text stdin
    except OSError as exc:
        raise GradcliError(f"cannot read {label}: {exc.strerror or exc}") from exc


def _skip_line(stream, label: str, number: int, budget: int) -> int:
    """Read to the end of an over-long line, keeping nothing; the bytes read (never more than budget + 1)."""
    skipped = 0
    while skipped <= budget:
        chunk = _readline(stream, label, 1 << 16)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
    raise LineError(f"{label} line {number} is longer than {MAX_FILE_BYTES >> 20} MiB: not a data file")


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


def check_output(target: str | Place, option: str, inputs: tuple = ()) -> str | Place:
    """Refuse, before any work, an output that cannot be written or would overwrite an input (a path, or a
    Place in a confined directory, where nothing is followed)."""
    if isinstance(target, Place):
        return _check_place(target, option, inputs)
    path = target
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


def _same_file(a: str, b: str | Place) -> bool:
    if isinstance(b, Place):
        return _identity(a) is not None and _identity(a) == _identity(b)
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def plot_name(path: str, option: str) -> str:
    """The picture's final file name, decided before any check: .png added when there is no suffix; other
    suffixes than png, pdf, svg refused."""
    if not path or not path.strip():
        raise GradcliError(f"{option}: give a file name, e.g. plot.png")
    suffix = os.path.splitext(path)[1].lower()
    if not suffix:
        return path + ".png"
    if suffix not in PLOT_SUFFIXES:
        raise GradcliError(f"{option} {path}: write .png, .pdf or .svg")
    return path


def plot_path(path: str, option: str, inputs: tuple = ()) -> str:
    """plot_name, checked as an output path; a name given that is not a regular file (/dev/full) is refused
    before .png is added to it."""
    if path and os.path.exists(path) and not os.path.isfile(path):
        raise GradcliError(f"{option} {path}: not a regular file; give the name of a file to (over)write")
    return check_output(plot_name(path, option), option, inputs)


# ---------------------------------------------------------------- confined directories (batch)
#
# A batch line names files inside --data-dir or --output-dir. Each directory is opened once, and every file
# of a line is opened, created and renamed relative to a descriptor, following no symbolic link in any
# component: a path checked is the path used, whatever is swapped in the file system meanwhile.

_OPEN_REASONS = {errno.ELOOP: "a symbolic link", errno.ENXIO: "not a regular file", errno.ENODEV: "not a regular file"}
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Place:
    """A file in a confined directory: its parent directory held open (dir_fd) and its last name. `label` is
    the path as the line gave it, the only name an error shows."""

    dir_fd: int
    name: str
    label: str

    def __str__(self) -> str:
        return self.label

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.dir_fd)


def open_root(path: str, option: str) -> int:
    """The descriptor of an allowed directory (given by the caller, so a link to it is followed)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (OSError, ValueError):
        raise GradcliError(f"{option} {path}: not a directory") from None


def place(root_fd: int, path: str, option: str) -> Place:
    """`path` inside the directory `root_fd`: relative, no "..", each directory on the way opened without
    following a link. The caller closes the Place."""
    parts = path.split("/") if isinstance(path, str) else []
    if (
        not path
        or path == "-"
        or "\x00" in path
        or os.path.isabs(path)
        or ".." in path.replace("\\", "/").split("/")
        or parts[-1] in ("", ".")
    ):
        raise GradcliError(
            f"{_shown(path)}: a batch line names a file inside {option} by a relative path, without '..'"
        )
    fd = os.dup(root_fd)
    for part in (p for p in parts[:-1] if p not in ("", ".")):
        try:
            inner = os.open(part, _DIRECTORY, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            reason = "a symbolic link" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else (exc.strerror or "unusable")
            raise GradcliError(
                f"{_shown(path)} inside {option}: {_shown(part)} is {reason} (a batch line follows none)"
            ) from None
        os.close(fd)
        fd = inner
    return Place(fd, parts[-1], path)


def open_place(where: Place, option: str):
    """A binary handle on a regular file in a confined directory: a link, FIFO, device or socket is refused,
    and nothing waits (a FIFO is opened without blocking, then refused)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(where.name, flags, dir_fd=where.dir_fd)
    except OSError as exc:
        reason = _OPEN_REASONS.get(exc.errno) or (exc.strerror or "unreadable").lower()
        raise GradcliError(f"cannot read {_shown(where.label)} inside {option}: {reason}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise GradcliError(f"cannot read {_shown(where.label)} inside {option}: not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _check_place(where: Place, option: str, inputs: tuple) -> Place:
    try:
        info = os.stat(where.name, dir_fd=where.dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return where
    except OSError as exc:
        raise GradcliError(f"{option} {_shown(where.label)}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise GradcliError(
            f"{option} {_shown(where.label)}: not a regular file (a link, a directory or a device); "
            "give the name of a file to (over)write"
        )
    if any(source and _identity(source) == (info.st_dev, info.st_ino) for source in inputs):
        raise GradcliError(f"{option} {_shown(where.label)} is also an input file; writing it would destroy the input")
    return where


def _identity(source: str | Place) -> tuple[int, int] | None:
    try:
        if isinstance(source, Place):
            info = os.stat(source.name, dir_fd=source.dir_fd, follow_symlinks=False)
        else:
            info = os.stat(source)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _shown(text: str) -> str:
    return repr(text)


@contextlib.contextmanager
def atomic_write(path: str | Place, binary: bool = False):
    """A handle on a temporary file beside `path`; renamed onto it only if the block ends without error.

    A Place is written inside its directory's descriptor: the temporary file is created there (exclusive,
    following no link) and renamed onto the name, so a link planted meanwhile is replaced, never followed."""
    if isinstance(path, Place):
        opened = _temporary_in(path)
        directory_fd = path.dir_fd
    else:
        opened = _temporary_beside(path)
        directory_fd = None
    fd, temp, target = opened
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), _mode(target, directory_fd))
            os.fsync(f.fileno())
        os.replace(temp, target, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    except OSError as exc:
        _discard(temp, directory_fd)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        _discard(temp, directory_fd)
        raise


def _temporary_beside(path: str) -> tuple[int, str, str]:
    target = os.path.realpath(path)  # through a symlink to the file it names, as open() would
    try:
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".gradcli-", suffix=os.path.splitext(target)[1])
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return fd, temp, target


def _temporary_in(where: Place) -> tuple[int, str, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    suffix = os.path.splitext(where.name)[1]
    for _ in range(100):
        temp = f".gradcli-{os.urandom(6).hex()}{suffix}"
        try:
            return os.open(temp, flags, 0o600, dir_fd=where.dir_fd), temp, where.name
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from exc
    raise OutputError(f"cannot write {where}: no free temporary name beside it")


def _mode(target: str, directory_fd: int | None) -> int:
    """A new file gets the usual mode (a temporary file is made 0600); an old regular file keeps its own."""
    try:
        info = os.stat(target, dir_fd=directory_fd, follow_symlinks=directory_fd is None)
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _discard(temp: str, directory_fd: int | None) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp, dir_fd=directory_fd)
