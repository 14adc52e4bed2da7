"""The console script (gradcli): a warm worker answers the call when one can (app.client), else it runs cold here."""

from __future__ import annotations

import sys

from gradcli.app import client


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] != ["worker"] and client.mode() != "off":
        code = client.through_worker(argv)
        if code is not None:
            sys.exit(code)
    from gradcli.app.main import main as cold

    sys.exit(cold(argv))
