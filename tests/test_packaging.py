"""pyproject.toml: the license as an SPDX expression, with a setuptools that reads it without a warning."""

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_and_setuptools_can_read_it():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    # setuptools 77 is the first to take project.license as an SPDX string (older ones warn or fail)
    assert int(re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools).group(1)) >= 77


def test_dev_extras_hold_what_the_docs_tests_need():
    dev = {re.split(r"[<>=]", r)[0] for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    assert {"jsonschema", "nbclient", "nbformat", "ipykernel"} <= dev
