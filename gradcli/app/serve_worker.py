"""The warm worker's process: `python -m gradcli.app.serve_worker --socket PATH [--idle MINUTES] [--pool N]`.

`gradcli worker start` runs it. gradcli.runtime.worker keeps the processes and sockets; this module says
what they run: gradcli's command line, warmed up first.
"""

from __future__ import annotations

import argparse
import io
import sys

from gradcli.app import client
from gradcli.runtime import worker

WARM_PARENT = (
    ["check", "sin(x)*exp(-x/5)", "--answer", "cos(x)*exp(-x/5) - sin(x)*exp(-x/5)/5"],
    ["check", "x**2*y", "--answer", "[2*x*y, x**2]", "--at", "x=1,y=2", "--format", "json"],
)
WARM_CHILD = ["grad", "sin(x)*exp(-x/5)", "--at", "x=1", "--format", "json"]


def warm_imports() -> None:
    """Import everything a command needs, without running any TensorFlow operation."""
    import numpy  # noqa: F401
    import sympy  # noqa: F401

    from gradcli.witnesses import symbolic  # noqa: F401
    from gradcli.witnesses.tape import tensorflow

    tensorflow()


def warm_parent() -> None:
    """Give sympy, the finite differences and rich their first use here, once, for every child.

    `check` runs no TensorFlow operation (so no TF thread starts in the parent), and a child's first grad
    then costs 0.03 s instead of 0.25 s (measured: the first sympy derivative, lambdify and table are the
    slow part, not TensorFlow's context, 0.05-0.1 s)."""
    for argv in WARM_PARENT:
        _quietly(argv)


def warm_child() -> None:
    """Build TensorFlow's eager context and run one small problem, off the request's path."""
    _quietly(WARM_CHILD)


def _quietly(argv: list[str]) -> None:
    from gradcli.app.main import Environment, main

    quiet = io.StringIO()
    main(argv, Environment(quiet, quiet, io.StringIO()))


def run(argv: list[str]) -> int:
    from gradcli.app.main import main

    return main(argv)


SERVICE = worker.Service(
    run=run, warm_imports=warm_imports, warm_parent=warm_parent, warm_child=warm_child, fingerprint=client.fingerprint
)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gradcli.app.serve_worker")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=15.0, help="minutes without a request before exiting")
    parser.add_argument("--pool", type=int, default=2, help="warm children kept ready")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = _arguments(sys.argv[1:] if argv is None else argv)
    worker.serve(options.socket, options.idle * 60, max(1, options.pool), SERVICE)


if __name__ == "__main__":
    main()
