"""What the `gradcli` client and the warm worker share: where the worker lives, which installation it
serves, and how they talk (a 4-byte length and a JSON object, file descriptors riding on the first byte).

Standard library only, and lazily even of that: the client imports this on every cold call.
"""

from __future__ import annotations

import os
import sys

PROTOCOL = 1
READY_TIMEOUT = 60.0  # seconds a starting worker may take to import TensorFlow and sympy
ACCEPT_TIMEOUT = 30.0  # seconds a request may wait for a free warm child before the client runs cold
# Environment variables read while Python, TensorFlow or numpy start: a worker serves only clients that agree.
IMPORT_ENV_PREFIXES = ("TF_", "OMP_", "KMP_", "MKL_", "OPENBLAS_", "PYTHON", "CUDA_", "LC_", "LANG")

# errors.ExitCode.OUTPUT_FAILED (the client imports only the standard library): a child killed mid-command
# (an out-of-memory kill, say) is the environment, and exit 4 is kept for gradcli's own bugs.
OUTPUT_INCOMPLETE = 5
# Resource limits a request carries ([soft, hard], -1 for unlimited) and the worker's child applies.
LIMITS = ("CPU", "FSIZE", "AS")


class Unusable(Exception):
    """The worker cannot take this call; the client runs it cold."""


# --- where the worker lives -------------------------------------------------------------------------


def runtime_dir(create: bool) -> str | None:
    """The per-user 0700 directory of worker sockets, or None when there is none or it is not safe."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _private(runtime, create=False):
        path = os.path.join(runtime, "gradcli")
    else:
        import tempfile

        path = os.path.join(tempfile.gettempdir(), f"gradcli-{os.getuid()}")
    return path if _private(path, create) else None


def _private(path: str, create: bool) -> bool:
    """True when path is a real directory (not a symlink) of this user that no one else may enter."""
    import stat

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return False
        try:
            os.mkdir(path, 0o700)
            info = os.lstat(path)
        except OSError:
            return False
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the gradcli package directory


def install_id() -> str:
    """Which gradcli this is: the interpreter and the package directory (one worker per installation)."""
    import hashlib

    return hashlib.sha256(f"{sys.executable}\0{PACKAGE}".encode()).hexdigest()[:16]


def socket_path(directory: str) -> str:
    return os.path.join(directory, f"worker-{install_id()}.sock")


def fingerprint(version: str) -> dict:
    """What a worker must share with its client: the installed gradcli (`version`, and the newest change
    anywhere in its package tree), and the environment read at import."""
    return {
        "protocol": PROTOCOL,
        "version": version,
        "package": PACKAGE,
        "python": sys.executable,
        "mtime": newest_change(PACKAGE),
        "utf8_mode": sys.flags.utf8_mode,
        "import_env": {k: v for k, v in os.environ.items() if k.startswith(IMPORT_ENV_PREFIXES)},
    }


def newest_change(package: str) -> int:
    """The newest modification time (ns) of any file or directory in the package tree, every subpackage
    included: an edited module, and an added, removed or renamed one (its directory changes)."""
    newest = os.stat(package).st_mtime_ns
    for directory, subdirectories, files in os.walk(package):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for name in (*subdirectories, *files):
            if not name.endswith(".pyc"):
                newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime_ns)
    return newest


def limits() -> dict:
    """This process's resource limits, as a request carries them."""
    import resource

    return {name: list(resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))) for name in LIMITS}


def limit_above(value: int, bound: int) -> bool:
    """Whether the limit value is above bound (-1, RLIM_INFINITY, is above every finite one)."""
    if bound < 0:
        return False
    return value < 0 or value > bound


# --- framing: a 4-byte length and a JSON object, file descriptors riding on the first byte ------------


def send_message(sock, message: dict, fds: list[int] = ()) -> None:
    import json
    import socket

    data = json.dumps(message).encode()
    data = len(data).to_bytes(4, "big") + data
    sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def receive_message(
    sock, max_fds: int = 0, limit: int = 1 << 22, deadline: float | None = None
) -> tuple[dict, list[int]]:
    """One message; raises EOFError when the peer closed before a whole one, ValueError when it is garbled
    (too large, or nested past what json can read), TimeoutError when it is not whole by `deadline`
    (time.monotonic): a peer sending a byte now and then cannot hold the reader longer."""
    import json
    import socket

    _before(sock, deadline)
    head, fds, _, _ = socket.recv_fds(sock, 4, max_fds) if max_fds else (sock.recv(4), [], 0, None)
    try:
        head += _exactly(sock, 4 - len(head), deadline) if head else b""
        if not head:
            raise EOFError("connection closed")
        size = int.from_bytes(head, "big")
        if size > limit:
            raise ValueError(f"message of {size} bytes")
        try:
            message = json.loads(_exactly(sock, size, deadline))
        except RecursionError:  # 100,000 nested [ : garbled, never a crash of the reader
            raise ValueError("message nested too deeply") from None
        if not isinstance(message, dict):
            raise ValueError("message is not an object")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return message, fds


def parse_frame(data: bytes, limit: int = 1 << 22) -> dict | None:
    """The message in data, when it holds a whole frame (None while it does not yet); ValueError when it is
    garbled: too large, more than one frame, nested past what json can read, or not an object."""
    import json

    if len(data) < 4:
        return None
    size = int.from_bytes(data[:4], "big")
    if size > limit:
        raise ValueError(f"message of {size} bytes")
    if len(data) < 4 + size:
        return None
    if len(data) > 4 + size:
        raise ValueError("more than one message")
    try:
        message = json.loads(data[4:])
    except RecursionError:
        raise ValueError("message nested too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("message is not an object")
    return message


def _before(sock, deadline: float | None) -> None:
    if deadline is None:
        return
    import time

    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the message did not arrive in time")
    sock.settimeout(left)


def _exactly(sock, size: int, deadline: float | None = None) -> bytes:
    chunks, left = [], size
    while left:
        _before(sock, deadline)
        chunk = sock.recv(min(left, 1 << 16))
        if not chunk:
            raise EOFError("connection closed mid-message")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def peer_uid(sock) -> int:
    import socket
    import struct

    _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def connect(path: str, timeout: float = 5.0):
    """A connection to the worker at path, after checking the socket file and the process behind it are ours."""
    import socket
    import stat

    info = os.lstat(path)
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid():
        raise Unusable(f"{path} is not a socket of this user; ignored")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        if peer_uid(sock) != os.getuid():
            raise Unusable("the process behind the socket is another user's; ignored")
    except BaseException:
        sock.close()
        raise
    return sock
