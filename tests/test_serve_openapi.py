"""The OpenAPI description: checked in as docs/openapi.json, served as it is, and true of real answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from starlette.testclient import TestClient

from gradcli.serve import adapters, answers, openapi, web

DOC = Path(__file__).parent.parent / "docs" / "openapi.json"


def _schema(name: str) -> dict:
    document = openapi.document()
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def test_checked_in_description_is_current():
    assert json.loads(DOC.read_text()) == openapi.document(), "run: python -m gradcli.serve.openapi docs/openapi.json"


def test_served_description_is_the_checked_in_one():
    with TestClient(web.app(None, frozenset({"testserver"}), None)) as client:
        assert client.get("/api/v1/openapi.json").json() == json.loads(DOC.read_text())


def test_the_description_is_valid_openapi_schemas():
    for name in openapi.SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(_schema(name))


@pytest.mark.parametrize("text", ["x^2 sin x", "1/2x", r"\sqrt{x}"])
def test_validate_answers_match_the_schema(text):
    status, body = answers.answer("validate", {"expression": text, "latex": False}, time.monotonic() + 5)
    assert status == 200
    jsonschema.validate(body, _schema("Validate"))


def test_refusals_match_the_error_schema():
    status, body = answers.answer("validate", {"expression": "x +* 2", "latex": False}, time.monotonic() + 5)
    assert status == 400
    jsonschema.validate(body, _schema("Error"))


def test_platform_replies_match_their_schemas():
    graded = {"verdict": "wrong", "gradable": True, "feedback": "Not right <b>."}
    jsonschema.validate(adapters.write_prairielearn(graded), _schema("PrairieLearnResults"))
    reply = adapters.write_xqueue(graded)
    jsonschema.validate(reply, _schema("XqueueReply"))
    assert reply["msg"] == "<p>Not right &lt;b&gt;.</p>"  # feedback is text, escaped into the HTML edX shows
    jsonschema.validate(answers.too_long({"expression": "x", "answer": "1"}), _schema("Check"))
