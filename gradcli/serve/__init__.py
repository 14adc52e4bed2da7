"""`gradcli serve`: the page and the grader API over HTTP, each request in a warm child of the pool.

run() starts the pool (gradcli.serve.pool), binds the socket, prints one line with the address, and serves
with uvicorn until SIGINT or SIGTERM. Starlette and uvicorn are imported only here and in web.py, never by
the rest of gradcli (docs/serve.md).
"""

from __future__ import annotations

import signal
import socket
import sys
from typing import TextIO

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    children: int = 2,
    open_browser: bool = True,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Serve until stopped; the exit code (0, or 128 + the signal's number is raised as streams.Interrupted)."""
    import uvicorn

    from gradcli.runtime import streams
    from gradcli.serve import web
    from gradcli.serve.pool import Pool

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    listener = _bind(host, port)
    bound = listener.getsockname()[1]
    if host not in web.LOOPBACK:
        stderr.write(
            f"warning: gradcli serve listens on {host}, reachable from other machines"
            f"{'' if token else '; set --token so that only those who know it can use the API'}\n"
        )
    pool = Pool(children)
    stopped: list[int] = []
    previous = {s: signal.signal(s, lambda n, _f: stopped.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        pool.start()
        shown = f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{bound}/"
        config = uvicorn.Config(
            web.app(pool, web.own_hosts(host, bound), token), log_level="warning", access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)
        stdout.write(f"gradcli serve: {address}\n")
        stdout.flush()
        if open_browser:
            _open(address)
        if not stopped:
            server.run(sockets=[listener])
    finally:
        pool.stop()
        listener.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopped:
        raise streams.Interrupted(stopped[-1])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    from gradcli.errors import GradcliError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except (OSError, OverflowError) as exc:
        listener.close()
        raise GradcliError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    listener.listen(128)
    return listener


def _open(address: str) -> None:
    import contextlib
    import webbrowser

    with contextlib.suppress(Exception):  # no browser is not an error of the server
        webbrowser.open(address)
