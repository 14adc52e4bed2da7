"""Deprecated: `python -m gradcli.worker` started the warm worker before the pipeline folders.

Kept for one release, with a DeprecationWarning on stderr, so that a script or a service file running
`python -m gradcli.worker --socket PATH [--idle MINUTES] [--pool N]` still starts it. Not in gradcli.__all__.
"""

import warnings

WORKER = "gradcli.app.serve_worker"  # the worker's process entry now

warnings.warn(
    f"gradcli.worker is deprecated and will be removed in the next release: run python -m {WORKER}",
    DeprecationWarning,
    stacklevel=1 if __name__ == "__main__" else 2,  # python -m: warnings raised in __main__ are shown
)


def main() -> None:
    """Start the worker as `python -m gradcli.app.serve_worker` does, with this process's argv."""
    from gradcli.app.serve_worker import main as serve

    serve()


if __name__ == "__main__":
    main()
