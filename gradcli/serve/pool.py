"""The warm children that answer API requests, and the server's side of talking to them.

The pool is gradcli's warm worker (gradcli.runtime.worker) in a process of its own, with a different
Service: the parent imports TensorFlow and sympy and warms sympy; each child builds TensorFlow's context
and answers one known problem before it waits; it then takes exactly one request and exits, so nothing
passes from one request to the next. In the child, before the request, resource limits are set: CPU
seconds (the request's timeout and a margin), address space (what the warm child has plus MEMORY_MIB),
and no file may be written (RLIMIT_FSIZE 0). The server process (uvicorn) never imports TensorFlow: it
only checks requests, hands them to the pool over its Unix socket (the request in argv, the answer back
through a pipe that is the child's stdout), and kills a child that runs past its wall time.

Process entry point: `python -m gradcli.serve.pool --socket PATH --pool N`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from gradcli.runtime import protocol

MEMORY_MIB = 1024  # address space a request may add to the warm child's
CPU_MARGIN = 2  # CPU seconds beyond the request's timeout before the kernel stops the child
KILL_GRACE = 0.5  # seconds past the deadline before the server kills the child itself
START_TIMEOUT = 120.0  # seconds for the pool to import TensorFlow and sympy and answer its status
KNOWN = ("check", {"expression": "x**2", "answer": "2*x", "at": None, "wrt": None, "order": 1})
SOFT_MARGIN = 0.15  # seconds kept for the child's "took too long" answer to arrive before the deadline
_STDIO = {"encoding": "utf-8", "errors": "strict", "line_buffering": False, "write_through": False}


# --- in the pool process ------------------------------------------------------------------------------


def _warm_imports() -> None:
    import numpy  # noqa: F401
    import sympy  # noqa: F401

    from gradcli.serve import answers  # noqa: F401
    from gradcli.witnesses import symbolic  # noqa: F401
    from gradcli.witnesses.tape import tensorflow

    tensorflow()


def _warm_parent() -> None:
    """sympy's first derivative, simplify and lambdify, once for every child (no TensorFlow operation)."""
    from gradcli.serve.answers import answer

    answer(*KNOWN, deadline=time.monotonic() + 60)
    answer("validate", {"expression": "x^2 sin x", "latex": False}, deadline=time.monotonic() + 60)


def _warm_child() -> None:
    """TensorFlow's eager context and one grad at a point, off the request's path."""
    from gradcli.serve.answers import answer

    answer(
        "grad",
        {"expression": "sin(x)*x", "at": {"x": 1}, "wrt": None, "order": 1, "steps": False},
        time.monotonic() + 60,
    )


def _limit(timeout: float) -> None:
    """This child's share of the machine: CPU seconds, address space, and no file written."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime + timeout) + CPU_MARGIN
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    memory = size + MEMORY_MIB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write to a file fails (EFBIG) instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _run(argv: list[str]) -> int:
    """One request in this child: argv is [endpoint, fields as JSON, timeout]; the answer goes to stdout."""
    from gradcli.serve.answers import answer

    endpoint, fields, timeout = argv[0], json.loads(argv[1]), float(argv[2])
    deadline = time.monotonic() + max(timeout - SOFT_MARGIN, 0.01)
    _limit(timeout)
    try:
        status, body = answer(endpoint, fields, deadline)
    except MemoryError:
        status, body = 422, {"message": "this request needs more memory than the server gives one", "position": None}
    except Exception as exc:  # a bug: one line for the operator's log, a 4xx-free "internal" answer
        status, body = 0, {"message": f"internal error, a bug in gradcli: {type(exc).__name__}: {exc}"}
    try:
        text = json.dumps({"status": status, "body": body}, allow_nan=False)
    except (TypeError, ValueError) as exc:  # an answer that is not JSON is a bug too, never a dead child
        text = json.dumps({"status": 0, "body": {"message": f"internal error, a bug in gradcli: {exc}"}})
    sys.stdout.write(text)
    return 0


def _service():
    from gradcli import __version__
    from gradcli.runtime import worker

    return worker.Service(
        run=_run,
        warm_imports=_warm_imports,
        warm_parent=_warm_parent,
        warm_child=_warm_child,
        fingerprint=lambda: protocol.fingerprint(__version__),
    )


def _die_with_parent() -> None:
    """The pool ends when the server does, however the server ends (Linux's PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main(argv: list[str] | None = None) -> None:
    import argparse

    from gradcli.runtime import worker

    parser = argparse.ArgumentParser(prog="python -m gradcli.serve.pool")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--pool", type=int, default=2)
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _die_with_parent()
    worker.serve(options.socket, idle=float("inf"), pool=max(1, options.pool), service=_service())


# --- in the server process ----------------------------------------------------------------------------


class Busy(Exception):
    """No warm child could take the request (the pool's queue is full, or it is restarting)."""


@dataclass
class Outcome:
    status: int  # HTTP status; 0: an internal error of gradcli's
    body: dict | None  # None: the request ran past its wall time
    seconds: float


class Pool:
    """The pool process and the way to it; `ask` runs one request in a warm child, within a deadline."""

    def __init__(self, children: int):
        from gradcli import __version__

        self.children = children
        self.directory = tempfile.mkdtemp(prefix="gradcli-serve-")  # 0700: the socket is ours alone
        self.path = os.path.join(self.directory, "pool.sock")
        self.fingerprint = protocol.fingerprint(__version__)
        self.process: subprocess.Popen | None = None
        self.restarting = threading.Lock()

    def start(self) -> None:
        command = [sys.executable, "-m", "gradcli.serve.pool", "--socket", self.path, "--pool", str(self.children)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, close_fds=True, cwd="/")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.status() is not None:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the pool of warm children exited at start (code {self.process.returncode})")
            time.sleep(0.1)
        raise RuntimeError(f"the pool of warm children did not start within {START_TIMEOUT:.0f} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _revive(self, left: float) -> None:
        """Start the pool again if it exited: the worker stops when the installed gradcli changes, or when
        it was killed; requests meanwhile wait, within their own deadlines."""
        if not self.restarting.acquire(timeout=max(left, 0.001)):
            raise Busy("the pool is restarting")
        try:
            if not self.alive():
                self.fingerprint = protocol.fingerprint(self.fingerprint["version"])
                self.start()
        except RuntimeError as exc:
            raise Busy(str(exc)) from None
        finally:
            self.restarting.release()

    def status(self) -> dict | None:
        try:
            with protocol.connect(self.path, timeout=2.0) as sock:
                protocol.send_message(sock, {"op": "status", "fingerprint": self.fingerprint})
                return protocol.receive_message(sock)[0]
        except (protocol.Unusable, OSError, EOFError, ValueError):
            return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            for name in os.listdir(self.directory):
                os.unlink(os.path.join(self.directory, name))
            os.rmdir(self.directory)

    def ask(self, endpoint: str, fields: dict, timeout: float, deadline: float) -> Outcome:
        """Blocking (the server runs it in a thread): the child's answer, or body None past `deadline`."""
        started = time.monotonic()
        left = deadline - started
        if left <= 0:
            return Outcome(200, None, 0.0)
        if not self.alive():
            self._revive(left)
            left = deadline - time.monotonic()
            if left <= 0:
                return Outcome(200, None, time.monotonic() - started)
        argv = [endpoint, json.dumps(fields), repr(min(timeout, left))]
        read_end, write_end = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            sock = protocol.connect(self.path, timeout=left)
        except (protocol.Unusable, OSError) as exc:
            for fd in (read_end, write_end, devnull):
                os.close(fd)
            raise Busy(f"the pool is not answering ({exc})") from None
        with sock, open(read_end, "rb") as reader:
            try:
                protocol.send_message(sock, self._request(argv), [devnull, write_end, 2])
            finally:
                os.close(write_end)
                os.close(devnull)
            return self._follow(sock, reader, deadline, started)

    def _request(self, argv: list[str]) -> dict:
        env = {k: v for k, v in os.environ.items() if k.startswith(protocol.IMPORT_ENV_PREFIXES)}
        return {
            "op": "run",
            "fingerprint": self.fingerprint,
            "argv": argv,
            "argv0": "gradcli-serve",
            "cwd": "/",
            "env": env,
            "umask": 0o077,
            "stdio": [_STDIO, _STDIO, _STDIO],
            "rlimits": protocol.limits(),  # the server's own; each child then takes its request's (_limit)
        }

    def _follow(self, sock: socket.socket, reader, deadline: float, started: float) -> Outcome:
        pid = None
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            reply, _ = protocol.receive_message(sock)
            if reply.get("event") == "refused":
                raise Busy(f"the pool refused the request: {reply.get('reason')}")
            pid = reply.get("pid")
            data = _read_until(reader, deadline + KILL_GRACE)
        except TimeoutError:
            data = None
        except (EOFError, OSError, ValueError) as exc:
            raise Busy(f"the pool's child stopped ({exc})") from None
        seconds = time.monotonic() - started
        if data is None:  # past its wall time: end the child now, whatever it is doing
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            return Outcome(200, None, seconds)
        if not data:
            return Outcome(0, {"message": "the child answering this request stopped (killed by a limit?)"}, seconds)
        answer = json.loads(data)
        return Outcome(answer["status"], answer["body"], seconds)


def _read_until(reader, deadline: float) -> bytes | None:
    """All the child writes to its stdout until it closes it (exits), or None at the deadline."""
    chunks = []
    fd = reader.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


if __name__ == "__main__":
    main()
