"""One helper that runs the CLI in-process and returns what a user would see."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

import pytest
from hypothesis import settings

from gradcli.app.main import Environment, main
from tests import corpus

# See tests/budget.py: CI is derandomized; `make fuzz` explores.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Subprocess tests run cold unless they start their own worker (tests/test_worker.py), never a user's.
os.environ["GRADCLI_WORKER"] = "off"

# Every CLI call the suite makes, replayed through a worker by tests/test_worker.py (which runs last).
CALLS: list[tuple[tuple[str, ...], str]] = []


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: str, stdin: str = "") -> Run:
    if "test_properties.py" not in os.environ.get("PYTEST_CURRENT_TEST", ""):  # generated inputs, not the matrix
        CALLS.append((args, stdin))
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), Environment(stdout=out, stderr=err, stdin=io.StringIO(stdin)))
    corpus.record(args, stdin, code, out.getvalue(), err.getvalue())
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli
