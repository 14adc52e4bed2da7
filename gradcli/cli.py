"""Deprecated: gradcli.cli was the command line's module; the console script is now gradcli.app.entry:main.

Kept for one release so that an entry point or a script naming `gradcli.cli:main` (or the Typer
`gradcli.cli:app`) still works, with a DeprecationWarning. Not in gradcli.__all__.
"""

import warnings

warnings.warn(
    "gradcli.cli is deprecated and will be removed in the next release: the console entry is gradcli.app.entry:main",
    DeprecationWarning,
    stacklevel=2,
)


def main(argv: list[str] | None = None, env=None) -> int:
    """The command line run in this process: argv (sys.argv[1:] by default) -> exit code, as cli.main was."""
    from gradcli.app.main import main as run

    return run(argv, env)


def __getattr__(name: str):
    from gradcli.app import main as module

    return getattr(module, name)
