"""gradcli worker start | stop | status: the warm background process (docs/worker.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


class WorkerAction(StrEnum):
    start = "start"
    stop = "stop"
    status = "status"


START = o.Mode("to start (worker start)", frozenset({"idle"}))
OTHER = o.Mode("to worker stop or worker status", frozenset())
MODES = (START, OTHER)
IDLE_MOST = 10080  # minutes: a week


def choose(given: frozenset[str], values) -> o.Mode:
    return START if values.get("action") == WorkerAction.start else OTHER


def worker(
    ctx: typer.Context,
    action: Annotated[WorkerAction, typer.Argument(help="start, stop or status.")],
    idle: Annotated[float, typer.Option("--idle", help="Minutes without a request before it exits.")] = 15.0,
) -> None:
    """A warm background process: later calls answer in a fraction of a second (see docs/worker.md).

    Example: gradcli worker start --idle 30
    """
    from gradcli.app import client

    o.refuse_unused(ctx, MODES, choose)
    out = ctx.obj.stdout
    if action == WorkerAction.start:
        if not 0 < idle <= IDLE_MOST:  # nan fails both comparisons
            raise GradcliError(f"--idle must be more than 0 and at most {IDLE_MOST} minutes (a week), not {idle:g}")
        try:
            out.write(client.describe(client.start_worker(idle)))
        except client.Unusable as exc:
            raise GradcliError(f"cannot start the worker: {exc}") from None
    elif action == WorkerAction.stop:
        out.write("stopped the worker\n" if client.stop_worker() else "no worker running\n")
    else:
        out.write(client.describe(client.worker_status()))
