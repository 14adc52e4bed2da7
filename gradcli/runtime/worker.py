"""The warm worker: one parent that has imported TensorFlow, sympy and gradcli, and a pool of forked children.

The parent never runs a TensorFlow operation: TF's thread pools, created by the first operation, do not
survive fork(). It does warm sympy, numpy and rich (`Service.warm_parent`). Each child, right after the fork,
builds the TF eager context and runs one small problem (about 0.1 s), then waits for a request; it serves
exactly one and exits, so no state passes from one request to the next. The parent only accepts
connections, checks the peer's uid, and hands each request (with the client's stdin, stdout and stderr
descriptors) to a ready child; it keeps the pool full, with only one spare forked while a request runs.

What it runs is a parameter (`Service`); the process entry point is gradcli.app.serve_worker, which
`gradcli worker start` runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gradcli.runtime import protocol

PENDING_LIMIT = 64  # requests waiting for a child; more are refused (the client runs them cold)
CHECK_EVERY = 2.0  # seconds between checks for idleness and a changed installation
REQUEST_DEADLINE = 2.0  # seconds for a whole request frame: a client sends it at once; a trickle is dropped
CONNECTIONS_LIMIT = 32  # connections still sending their request; more are closed at once (they run cold)
REQUEST_LIMIT = 1 << 22  # bytes of one request frame
READY_LIMIT = 60.0  # seconds a new child may take to warm up; past it, it is stuck and killed
# The caller's resource limits that its request carries and its child takes (protocol.LIMITS): the worker's own
# soft limits are raised to its hard ones at start, so a worker started under `ulimit -S` imposes nothing later.
LIMITS = protocol.LIMITS


@dataclass
class Child:
    pid: int
    channel: socket.socket
    ready: bool = False
    busy_since: float | None = None
    forked: float = field(default_factory=time.monotonic)


@dataclass
class Reading:
    """A connection whose request frame is still arriving: read through the selector, never blocking the loop."""

    conn: socket.socket
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    fds: list[int] = field(default_factory=list)


@dataclass
class Pending:
    conn: socket.socket
    request: dict
    fds: list[int]
    deadline: float


@dataclass(frozen=True)
class Service:
    """What the worker runs, given by its entry point (gradcli.app.serve_worker): this module knows
    processes, sockets and streams, not commands."""

    run: Callable[[list[str]], int]  # a command on this process's standard streams: its exit code
    warm_imports: Callable[[], None]  # in the parent: import everything, run no TensorFlow operation
    warm_parent: Callable[[], None]  # in the parent, once: first uses that every child then inherits
    warm_child: Callable[[], None]  # in each child right after the fork, off the request's path
    fingerprint: Callable[[], dict]  # the installation and the import-time environment (protocol.fingerprint)


@dataclass
class Worker:
    path: str
    idle: float
    pool: int
    max_children: int
    service: Service
    started: float = field(default_factory=time.time)
    requests: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    children: dict[int, Child] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    stopping: bool = False
    fingerprint: dict = field(default_factory=dict)
    clients: dict[int, tuple[socket.socket, dict]] = field(default_factory=dict)  # busy child: its caller, limits
    reading: dict[int, Reading] = field(default_factory=dict)  # by file descriptor

    def __post_init__(self):
        self.selector = selectors.DefaultSelector()


def serve(path: str, idle: float, pool: int, service: Service) -> None:
    """Serve requests at the socket path until idle for `idle` seconds, stopped, or the installation changes."""
    directory = os.path.dirname(path)
    lock = open(path + ".lock", "a")  # noqa: SIM115 - held for the worker's whole life
    if not _locked(lock, timeout=10.0):
        return  # another worker for this installation is running or starting
    _raise_soft_limits()
    fingerprint = service.fingerprint()  # before the imports, which set TF_CPP_MIN_LOG_LEVEL
    service.warm_imports()
    service.warm_parent()
    most = pool + 2 * (os.cpu_count() or 1)
    worker = Worker(path, idle, pool, max_children=most, service=service, fingerprint=fingerprint)
    listener, worker.inode = _bind(path, directory)
    worker.listener, worker.lock = listener, lock
    signal.signal(signal.SIGTERM, lambda *_: setattr(worker, "stopping", True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker.selector.register(listener, selectors.EVENT_READ, "listener")
    try:
        _fill_pool(worker)
        _loop(worker)
    finally:
        _shut_down(worker)


def _raise_soft_limits() -> None:
    """Soft limits up to the hard ones: the starter's `ulimit -S -f 4` is not every later caller's limit (a
    lowered hard limit cannot be raised: callers above it are refused and run cold, see _limits_refusal)."""
    import resource

    for name in LIMITS:
        which = getattr(resource, f"RLIMIT_{name}")
        soft, hard = resource.getrlimit(which)
        if soft != hard:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (hard, hard))


def _limits_refusal(request: dict) -> str | None:
    """Why a child of this worker cannot take the caller's limits (one above the worker's hard limit), or None."""
    import resource

    theirs = request.get("rlimits")
    if not isinstance(theirs, dict) or set(theirs) != set(LIMITS):
        return "bad request"
    for name in LIMITS:
        ours = resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))[1]
        value = theirs[name]
        if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
            return "bad request"
        if protocol.limit_above(value[1], ours) or protocol.limit_above(value[0], value[1]):
            return f"resource limit {name} above the worker's"
    return None


def _locked(lock, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _bind(path: str, directory: str) -> tuple[socket.socket, int]:
    """Listen at path, replacing whatever stale or foreign file is there (we hold the lock)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = os.path.join(directory, f".worker-{os.getpid()}.sock")
    if os.path.lexists(temporary):
        os.unlink(temporary)
    listener.bind(temporary)
    os.chmod(temporary, 0o600)
    listener.listen(64)
    os.rename(temporary, path)  # atomic: a client finds the old file or a listening socket, never neither
    listener.setblocking(False)
    return listener, os.stat(path).st_ino


def _loop(worker: Worker) -> None:
    next_check = time.monotonic() + CHECK_EVERY
    while not worker.stopping:
        for key, _ in worker.selector.select(timeout=0.5):
            if key.data == "listener":
                _accept(worker)
            elif isinstance(key.data, Reading):
                _read(worker, key.data)
            else:
                _child_said(worker, key.data)
        _drop_late(worker)
        _kill_stuck(worker)
        _reap(worker)
        _dispatch(worker)
        _fill_pool(worker)
        now = time.monotonic()
        if now >= next_check:
            next_check = now + CHECK_EVERY
            busy = any(c.busy_since for c in worker.children.values()) or worker.pending
            if not busy and now - worker.last_activity > worker.idle:
                worker.stopping = True
            if _installation_changed(worker):
                worker.stopping = True


def _installation_changed(worker: Worker) -> bool:
    try:
        now = worker.service.fingerprint()
    except OSError:
        return True
    return any(now[k] != worker.fingerprint[k] for k in ("version", "package", "mtime"))


def _accept(worker: Worker) -> None:
    """Take a connection; its request is read through the selector (_read), so no connection, however slow or
    silent, holds the loop: each has REQUEST_DEADLINE for its whole frame, and at most CONNECTIONS_LIMIT wait."""
    try:
        conn, _ = worker.listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return
    except OSError:  # out of descriptors, say: the waiting connections stay queued in the listener
        return
    try:
        if protocol.peer_uid(conn) != os.getuid() or len(worker.reading) >= CONNECTIONS_LIMIT:
            conn.close()
            return
        conn.setblocking(False)
    except OSError:
        conn.close()
        return
    reading = Reading(conn, time.monotonic() + REQUEST_DEADLINE)
    worker.reading[conn.fileno()] = reading
    worker.selector.register(conn, selectors.EVENT_READ, reading)


def _read(worker: Worker, reading: Reading) -> None:
    try:
        chunk, fds, _, _ = socket.recv_fds(reading.conn, 1 << 16, 3)
        reading.fds += fds
        if len(reading.fds) > 3:
            raise ValueError("too many descriptors")
        if not chunk:
            raise EOFError("connection closed")
        reading.data += chunk
        request = protocol.parse_frame(bytes(reading.data), REQUEST_LIMIT)
    except (BlockingIOError, InterruptedError):
        return
    except (OSError, EOFError, ValueError):
        _drop(worker, reading)
        return
    if request is None:
        return
    _forget(worker, reading)
    conn, fds = reading.conn, reading.fds
    try:
        conn.setblocking(True)
        conn.settimeout(5.0)  # replies are small; a client that stops reading cannot hold the loop long
        _answer(worker, conn, request, fds)
    except OSError:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        conn.close()


def _forget(worker: Worker, reading: Reading) -> None:
    worker.reading.pop(reading.conn.fileno(), None)
    with contextlib.suppress(KeyError, ValueError):
        worker.selector.unregister(reading.conn)


def _drop(worker: Worker, reading: Reading) -> None:
    _forget(worker, reading)
    for fd in reading.fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    reading.conn.close()


def _drop_late(worker: Worker) -> None:
    now = time.monotonic()
    for reading in [r for r in worker.reading.values() if r.deadline <= now]:
        _drop(worker, reading)


def _kill_stuck(worker: Worker) -> None:
    """A child that has not warmed up in READY_LIMIT seconds (stopped, or stuck) is killed; _reap collects it."""
    now = time.monotonic()
    for child in worker.children.values():
        if not child.ready and not child.busy_since and now - child.forked > READY_LIMIT:
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)


def _answer(worker: Worker, conn: socket.socket, request: dict, fds: list[int]) -> None:
    op = request.get("op")
    theirs = request.get("fingerprint") or {}
    if op == "status":
        protocol.send_message(conn, _status(worker, theirs))
    elif op == "stop":
        protocol.send_message(conn, {"event": "stopping", "pid": os.getpid()})
        worker.stopping = True
    elif op == "run" and len(fds) == 3:
        worker.last_activity = time.monotonic()  # a status query is not use
        refusal = _refusal(worker, theirs)
        limits = _limits_refusal(request) if refusal is None else None
        if limits is not None:
            protocol.send_message(conn, {"event": "refused", "reason": limits})
        elif refusal is not None:
            protocol.send_message(conn, {"event": "refused", "reason": refusal, "idle": worker.idle / 60})
        elif len(worker.pending) >= PENDING_LIMIT:
            protocol.send_message(conn, {"event": "refused", "reason": "busy"})
        else:
            worker.pending.append(Pending(conn, request, fds, time.monotonic() + protocol.ACCEPT_TIMEOUT))
            return  # the connection now belongs to the queue
    else:
        protocol.send_message(conn, {"event": "refused", "reason": "bad request"})
    for fd in fds:
        os.close(fd)
    conn.close()


def _refusal(worker: Worker, theirs: dict) -> str | None:
    if theirs == worker.fingerprint:
        return None
    if _installation_changed(worker) or any(
        theirs.get(k) != v for k, v in worker.fingerprint.items() if k != "import_env"
    ):
        worker.stopping = True
        return "stale"
    return "environment differs from the worker's (variables read at import)"


def _status(worker: Worker, theirs: dict) -> dict:
    ready = sum(c.ready and not c.busy_since for c in worker.children.values())
    busy = sum(bool(c.busy_since) for c in worker.children.values())
    return {
        "event": "status",
        "pid": os.getpid(),
        "uptime": round(time.time() - worker.started, 1),
        "version": worker.fingerprint["version"],
        "package": worker.fingerprint["package"],
        "socket": worker.path,
        "requests": worker.requests,
        "ready": ready,
        "busy": busy,
        "idle_minutes": worker.idle / 60,
        "memory_mib": _memory_mib([os.getpid(), *worker.children]),
        "current": theirs == worker.fingerprint,
        "busy_pids": sorted(pid for pid, c in worker.children.items() if c.busy_since),
    }


def _memory_mib(pids: list[int]) -> dict:
    """Resident and proportional set sizes: PSS shares copy-on-write pages fairly between parent and children."""
    total = {"rss": 0.0, "pss": 0.0}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    name, _, rest = line.partition(":")
                    if name in ("Rss", "Pss"):
                        total[name.lower()] += int(rest.split()[0]) / 1024
        except OSError:
            continue
    return {k: round(v, 1) for k, v in total.items()}


def _dispatch(worker: Worker) -> None:
    now = time.monotonic()
    for item in list(worker.pending):
        child = next((c for c in worker.children.values() if c.ready and not c.busy_since), None)
        if child is None and item.deadline > now:
            return
        worker.pending.remove(item)
        try:
            if child is None:
                protocol.send_message(item.conn, {"event": "refused", "reason": "busy"})
            else:
                protocol.send_message(child.channel, item.request, [item.conn.fileno(), *item.fds])
                child.busy_since = now
                worker.requests += 1
                # kept until the child is reaped: a child killed at the caller's CPU limit is told to the caller
                worker.clients[child.pid] = (item.conn, item.request["rlimits"])
                item.conn = None
        except OSError:
            pass
        finally:
            for fd in item.fds:
                os.close(fd)
            if item.conn is not None:
                item.conn.close()


def _child_said(worker: Worker, child: Child) -> None:
    try:
        message = child.channel.recv(16)
    except OSError:
        message = b""
    if message == b"R":
        child.ready = True
    elif not message:  # the child exited (after its request, or died): _reap collects it
        worker.selector.unregister(child.channel)
        child.channel.close()
        worker.children.pop(child.pid, None)
        worker.last_activity = time.monotonic()


def _reap(worker: Worker) -> None:
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        child = worker.children.pop(pid, None)
        if child is not None:
            worker.selector.unregister(child.channel)
            child.channel.close()
        client = worker.clients.pop(pid, None)
        if client is not None:
            _tell_a_limit_kill(client, status, usage.ru_utime + usage.ru_stime)


def _tell_a_limit_kill(client: tuple[socket.socket, dict], status: int, cpu: float) -> None:
    """A child killed at the caller's CPU limit (SIGXCPU past the soft one, SIGKILL at the hard one) is what a
    cold process would have suffered: the client ends itself with the same signal. Any other death is told by
    the connection closing, as before (the client reruns cold, or says its output is incomplete)."""
    conn, limits = client
    with conn:
        if not os.WIFSIGNALED(status):
            return
        signum = os.WTERMSIG(status)
        soft = limits["CPU"][0]
        at_limit = signum == signal.SIGXCPU or (signum == signal.SIGKILL and soft >= 0 and cpu >= soft - 0.05)
        if at_limit:
            with contextlib.suppress(OSError):
                conn.settimeout(1.0)
                protocol.send_message(conn, {"event": "killed", "signal": signum, "reason": "cpu limit"})


def _fill_pool(worker: Worker) -> None:
    """Keep the pool full, but while a request runs only one spare: a fork and a warm-up (0.2 s of CPU) would
    compete with the request on a small machine, so the rest are forked when it ends."""
    if worker.stopping:
        return
    waiting = sum(not c.busy_since for c in worker.children.values())
    busy = any(c.busy_since for c in worker.children.values())
    wanted = (1 if busy else worker.pool) + len(worker.pending)
    while waiting < wanted and len(worker.children) < worker.max_children:
        _fork_child(worker)
        waiting += 1


def _fork_child(worker: Worker) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            _forget_parent(worker)
            _child(theirs, worker.service)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    child = Child(pid, ours)
    worker.children[pid] = child
    worker.selector.register(ours, selectors.EVENT_READ, child)


def _forget_parent(worker: Worker) -> None:
    """In a new child: drop the parent's listener, lock, queue and other children's channels."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    worker.selector.close()
    worker.listener.close()
    worker.lock.close()
    for other in worker.children.values():
        other.channel.close()
    for conn, _ in worker.clients.values():
        conn.close()
    for reading in worker.reading.values():
        reading.conn.close()
        for fd in reading.fds:
            os.close(fd)
    for item in worker.pending:
        item.conn.close()
        for fd in item.fds:
            os.close(fd)


# --- in a child -----------------------------------------------------------------------------------------


def _child(channel: socket.socket, service: Service) -> None:
    service.warm_child()
    channel.sendall(b"R")
    try:
        request, fds = protocol.receive_message(channel, max_fds=4)
    except (EOFError, OSError, ValueError):
        return  # the parent is gone or shutting down
    conn = socket.socket(fileno=fds[0])
    refusal = _take_limits(request["rlimits"])
    if refusal is not None:  # before any of the caller's streams is touched: the client runs it cold
        protocol.send_message(conn, {"event": "refused", "reason": refusal})
        return
    _run(conn, request, fds[1:], service)


def _take_limits(limits: dict) -> str | None:
    """Apply the caller's CPU time, file size and address space limits to this child, as a cold process has
    them from its shell; a reason to refuse when this warm child is already past them (an address space
    smaller than TensorFlow's warm image: the cold run says what it can do)."""
    import resource

    size = _virtual_size()
    soft = limits["AS"][0]
    if soft >= 0 and size is not None and soft < size + (256 << 20):
        return "address-space limit below the warm child's size"
    for name in LIMITS:
        try:
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), tuple(limits[name]))
        except (ValueError, OSError) as exc:
            return f"cannot take the resource limit {name} ({exc})"
    return None


def _virtual_size() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class _Watched(io.TextIOWrapper):
    """A standard stream that tells the client the first time it is read or written: from then on, the
    client can no longer rerun the command cold if this child dies.

    It watches at the text level: below it, the C FileIO and buffer keep their exact accounting even when a
    KeyboardInterrupt lands right after a write (a Python raw stream would make the buffer write it twice)."""

    conn: socket.socket | None = None
    touched = False

    def _touch(self) -> None:
        if not _Watched.touched:
            _Watched.touched = True
            protocol.send_message(_Watched.conn, {"event": "io"})

    def write(self, text):
        self._touch()
        return super().write(text)

    def writelines(self, lines):
        self._touch()
        return super().writelines(lines)

    def read(self, size=-1):
        self._touch()
        return super().read(size)

    def readline(self, size=-1):
        self._touch()
        return super().readline(size)

    def readlines(self, hint=-1):
        self._touch()
        return super().readlines(hint)

    def __iter__(self):
        return self

    def __next__(self):
        self._touch()
        return super().__next__()


def _run(conn: socket.socket, request: dict, fds: list[int], service: Service) -> None:
    """Become the client's process: its streams, cwd, environment and umask; then run the command."""
    import numpy as np

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # what gradcli.witnesses.tape.tensorflow() sets in a cold process
    os.umask(request["umask"])
    sys.argv = [request["argv0"], *request["argv"]]
    np.random.seed()  # fork copied the parent's global state; a cold process seeds from the OS
    _Watched.conn = conn
    sys.stdin, sys.stdout, sys.stderr = (_stream(fd, s) for fd, s in enumerate(request["stdio"]))
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    conn.settimeout(None)
    threading.Thread(target=_listen, args=(conn,), daemon=True).start()
    protocol.send_message(conn, {"event": "started", "pid": os.getpid()})

    code = service.run(request["argv"])
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        code = 120  # what Python's own exit does when it cannot flush stdout
    sys.stderr.flush()
    protocol.send_message(conn, {"event": "exit", "code": code})


def _stream(fd: int, settings: dict):
    raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
    buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    return _Watched(
        buffered,
        encoding=settings["encoding"],
        errors=settings["errors"],
        newline="\n",
        line_buffering=settings["line_buffering"],
        write_through=settings["write_through"],
    )


def _listen(conn: socket.socket) -> None:
    """Ctrl-C in the client becomes SIGINT here; a vanished client ends the request.

    The signal goes to the main thread, as a terminal's would in a cold process: a blocking read there
    is interrupted at once, and the KeyboardInterrupt is raised where a cold run raises it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    main_thread = threading.main_thread().ident
    while True:
        try:
            message, _ = protocol.receive_message(conn)
        except (EOFError, OSError, ValueError):
            os.kill(os.getpid(), signal.SIGKILL)
            return
        if message.get("event") == "interrupt":
            signal.pthread_kill(main_thread, signal.SIGINT)


def _shut_down(worker: Worker) -> None:
    try:
        if os.stat(worker.path).st_ino == worker.inode:  # not a successor's socket
            os.unlink(worker.path)
    except OSError:
        pass
    worker.listener.close()
    for item in worker.pending:
        with contextlib.suppress(OSError):
            protocol.send_message(item.conn, {"event": "refused", "reason": "stopping"})
    for child in worker.children.values():
        if not child.busy_since:
            os.kill(child.pid, signal.SIGTERM)  # busy children finish their request on their own
