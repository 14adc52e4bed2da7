"""gradcli serve: the page and the grader API over HTTP on this machine (docs/serve.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.errors import GradcliError


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; another than 127.0.0.1 only when you mean it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on; 0 lets the system choose.")] = 8765,
    token: Annotated[
        str | None, typer.Option("--token", help="Require Authorization: Bearer TOKEN on the API (shared machines).")
    ] = None,
    children: Annotated[int, typer.Option("--children", help="Warm children kept ready (1 to 32).")] = 2,
    no_open: Annotated[bool, typer.Option("--no-open", help="Do not open the page in a browser.")] = False,
) -> None:
    """Serve the page and the grader API until Ctrl-C; prints one line with the address.

    Example: gradcli serve --port 0 --no-open
    """
    from gradcli.serve import run

    if not 0 <= port <= 65535:
        raise GradcliError(f"--port {port}: give a port from 0 to 65535")
    if not 1 <= children <= 32:
        raise GradcliError(f"--children {children}: give from 1 to 32")
    if token is not None and (len(token) < 8 or not token.isprintable() or " " in token):
        raise GradcliError("--token: give at least 8 printable characters, without spaces")
    env = ctx.obj
    raise typer.Exit(run(host, port, token, children, not no_open, env.stdout, env.stderr))
