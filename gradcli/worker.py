"""Deprecated: `python -m gradcli.worker` started the warm worker before the pipeline folders.

Kept for one release, with a DeprecationWarning on stderr, so that a script or a service file running
`python -m gradcli.worker --socket PATH [--idle MINUTES] [--pool N]` still starts it. Not in gradcli.__all__.
"""

import warnings

# The worker's process entry is the `__main__` block of WORKER (it has no main() today). The app/runtime
# restructuring may move it: this is the one line to update then, for as long as this shim lives.
WORKER = "gradcli.runtime.worker"

warnings.warn(
    f"gradcli.worker is deprecated and will be removed in the next release: run python -m {WORKER}",
    DeprecationWarning,
    stacklevel=1 if __name__ == "__main__" else 2,  # python -m: warnings raised in __main__ are shown
)


def main() -> None:
    """Run the worker's entry as `python -m` would, with this process's argv (the module is imported only
    here, once, as __main__: importing it first would make runpy warn)."""
    import runpy

    runpy.run_module(WORKER, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
