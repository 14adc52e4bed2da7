"""The client of the warm worker: hand a call to it when one is usable, start, ask and stop it (app.entry calls it).

Standard library only, and lazily even of that: a cold call pays one stat() for the worker machinery.
A request carries the client's argv, cwd, environment, umask and stdio settings, with its stdin, stdout
and stderr file descriptors passed over the Unix socket (SCM_RIGHTS), so the worker's child writes to
the very same terminal, pipe or file. Whatever goes wrong before the child touches those streams ends
in a cold run with the same result; GRADCLI_DEBUG=1 says why on stderr.
"""

from __future__ import annotations

import os
import sys

from gradcli.runtime import protocol
from gradcli.runtime.protocol import (
    ACCEPT_TIMEOUT,
    OUTPUT_INCOMPLETE,
    READY_TIMEOUT,
    Unusable,
    connect,
    install_id,
    receive_message,
    runtime_dir,
    send_message,
    socket_path,
)

__all__ = [
    "Unusable",
    "describe",
    "fingerprint",
    "mode",
    "start_worker",
    "stop_worker",
    "through_worker",
    "worker_status",
]


def fingerprint() -> dict:
    """This installation's fingerprint (runtime.protocol.fingerprint) with its version."""
    from gradcli import __version__

    return protocol.fingerprint(__version__)


def mode() -> str:
    value = os.environ.get("GRADCLI_WORKER", "").strip().lower()
    return {"0": "off", "no": "off", "false": "off", "1": "auto", "on": "auto", "yes": "auto"}.get(value, value)


def _debug(message: str) -> None:
    if os.environ.get("GRADCLI_DEBUG"):
        sys.stderr.write(f"gradcli: {message}\n")


# --- a call through the worker ------------------------------------------------------------------------


def through_worker(argv: list[str]) -> int | None:
    """The exit code of the call run by the worker, or None to run it cold."""
    auto = mode() == "auto"
    directory = runtime_dir(create=auto)
    if directory is None:
        return None
    path = socket_path(directory)
    if not auto and not os.path.exists(path):
        return None  # the common cold case: one stat, nothing imported
    try:
        return _request(path, argv, auto)
    except (Unusable, OSError, EOFError, ValueError) as exc:
        _debug(f"running cold: {exc}")
        return None


def _request(path: str, argv: list[str], auto: bool) -> int:
    try:
        sock = connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        if not auto:
            raise
        if any(hard >= 0 for _, hard in protocol.limits().values()):
            raise Unusable("a worker started under hard resource limits would keep them; not started") from None
        start_worker(idle=None)
        sock = connect(path)
    with sock:
        reply = _send_run(sock, argv)
        if reply.get("event") == "refused" and reply.get("reason") == "stale":
            sock.close()
            start_worker(idle=reply.get("idle"))  # the installed gradcli changed: replace the worker
            with connect(path) as fresh:
                return _follow(fresh, _send_run(fresh, argv))
        return _follow(sock, reply)


def _send_run(sock, argv: list[str]) -> dict:

    streams = (sys.stdin, sys.stdout, sys.stderr)
    for fd in (0, 1, 2):
        os.fstat(fd)  # a closed standard stream: the cold run knows how to behave
    umask = os.umask(0)
    os.umask(umask)
    request = {
        "op": "run",
        "fingerprint": fingerprint(),
        "argv": argv,
        "argv0": sys.argv[0],
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "rlimits": protocol.limits(),
        "stdio": [_stdio_settings(s) for s in streams],
    }
    send_message(sock, request, [0, 1, 2])
    sock.settimeout(ACCEPT_TIMEOUT)
    try:
        reply, _ = receive_message(sock)
    except TimeoutError as exc:
        raise Unusable("no warm child became free in time") from exc
    if reply.get("event") == "refused" and reply.get("reason") != "stale":
        raise Unusable(f"worker refused: {reply.get('reason')}")
    return reply


def _stdio_settings(stream) -> dict:
    if stream is None:
        raise Unusable("a standard stream is missing")
    return {
        "encoding": stream.encoding,
        "errors": stream.errors,
        "line_buffering": stream.line_buffering,
        "write_through": getattr(stream, "write_through", False),
    }


def _follow(sock, reply: dict) -> int:
    """Wait for the child's exit code, forwarding Ctrl-C; cold again only if it failed before any I/O."""
    import signal

    if reply.get("event") != "started":
        raise ValueError(f"unexpected reply {reply!r}")
    sock.settimeout(None)
    touched = False

    def forward(signum, frame):
        send_message(sock, {"event": "interrupt"})

    previous = signal.signal(signal.SIGINT, forward)
    try:
        while True:
            try:
                message, _ = receive_message(sock)
            except InterruptedError:
                continue
            except (EOFError, OSError, ValueError) as exc:
                if not touched:
                    raise Unusable(f"the worker's child stopped before any input or output ({exc})") from exc
                sys.stderr.write(
                    "error: the gradcli worker stopped in the middle of this command; its output is incomplete "
                    "(run it again, or with GRADCLI_WORKER=off)\n"
                )
                return OUTPUT_INCOMPLETE
            if message.get("event") == "io":
                touched = True
            elif message.get("event") == "killed":  # at this caller's CPU limit: end as a cold process would
                signum = int(message["signal"])
                if signum != signal.SIGKILL:  # SIGKILL's action cannot be set (and is always the default)
                    signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                signal.pause()
            elif message.get("event") == "exit":
                return int(message["code"])
    finally:
        signal.signal(signal.SIGINT, previous)


# --- gradcli worker start | stop | status ---------------------------------------------------------------


def start_worker(idle: float | None) -> dict:
    """Start a worker in the background (if none is running) and wait until it answers; its status."""
    import subprocess

    directory = runtime_dir(create=True)
    if directory is None:
        raise Unusable("no private directory for the worker's socket (check XDG_RUNTIME_DIR or the temp dir)")
    path = socket_path(directory)
    status = worker_status()
    if status is not None and status.get("current"):
        return status
    if status is not None:
        stop_worker()  # another gradcli version, or started with other import-time variables: replace it
    command = [sys.executable, "-m", "gradcli.app.serve_worker", "--socket", path]
    if idle is not None:
        command += ["--idle", str(idle)]
    log = open(os.path.join(directory, f"worker-{install_id()}.log"), "ab")  # noqa: SIM115 - handed to the child
    home = os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )  # finds this gradcli, installed or not
    with log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd=home
        )
    import time

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        status = worker_status()
        if status is not None and status.get("current"):
            return status
        if process.poll():  # 0: another worker held the lock and is starting; wait for that one
            raise Unusable(f"the worker exited at start (see {log.name})")
        time.sleep(0.05)
    raise Unusable(f"the worker did not start within {READY_TIMEOUT:.0f} s (see {log.name})")


def _ask(op: str) -> dict | None:
    directory = runtime_dir(create=False)
    if directory is None:
        return None
    try:
        with connect(socket_path(directory)) as sock:
            send_message(sock, {"op": op, "fingerprint": fingerprint()})
            return receive_message(sock)[0]
    except (Unusable, OSError, EOFError, ValueError):
        return None


def worker_status() -> dict | None:
    """The running worker's status (pid, uptime, version, requests, memory), or None."""
    return _ask("status")


def stop_worker() -> dict | None:
    """Ask the worker to exit; what it said, or None when none was running."""
    return _ask("stop")


def describe(status: dict | None) -> str:
    """`gradcli worker status` as lines of text."""
    if status is None:
        return "no worker running\n"
    memory = status["memory_mib"]
    lines = [
        f"pid: {status['pid']}",
        f"uptime: {status['uptime']:.0f} s",
        f"version: {status['version']}{'' if status['current'] else ' (stale: replaced on the next call)'}",
        f"requests: {status['requests']}",
        f"children: {status['ready']} ready, {status['busy']} busy",
        f"memory: {memory['pss']:.0f} MiB (proportional set size; {memory['rss']:.0f} MiB resident)",
        f"idle timeout: {status['idle_minutes']:g} min",
        f"socket: {status['socket']}",
    ]
    return "\n".join(lines) + "\n"
