"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json and checked in as docs/openapi.json
(tests/test_serve_openapi.py fails when they differ: `python -m gradcli.serve.openapi docs/openapi.json`).

The bodies of grad, derivative and check are the command line's JSON, pinned by docs/schema/*.json; here
they are objects with the keys the API adds.
"""

from __future__ import annotations

import json
import sys

from gradcli import __version__
from gradcli.serve import requests as limits

_TEXT, _FLAG, _NAMES = {"type": "string"}, {"type": "boolean"}, {"type": ["array", "null"], "items": {"type": "string"}}
_POINT = {"type": ["object", "null"], "additionalProperties": {"type": ["number", "string", "array"]}}
_TIMEOUT = {"type": "number", "exclusiveMinimum": 0, "default": limits.DEFAULT_TIMEOUT, "maximum": limits.MAX_TIMEOUT,
            "description": "wall-time limit in seconds (more than the cap is read as the cap)"}  # fmt: skip
_ORDER = {"type": "integer", "minimum": 1, "maximum": limits.MAX_ORDER, "default": 1}
_NOTE = {"type": "object", "required": ["kind", "message"], "properties": {"kind": _TEXT, "message": _TEXT}}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["message", "position"],
        "additionalProperties": False,
        "properties": {"message": _TEXT, "position": {"type": ["integer", "null"]}},
    },
    "ValidateRequest": {
        "type": "object",
        "required": ["expression"],
        "additionalProperties": False,
        "properties": {"expression": _TEXT, "latex": _FLAG, "timeout": _TIMEOUT},
    },
    "Validate": {
        "type": "object",
        "required": ["input", "expression", "latex", "mathml", "variables", "reading"],
        "properties": {
            "input": _TEXT,
            "expression": _TEXT,
            "latex": _TEXT,
            "mathml": _TEXT,
            "variables": {"type": "array", "items": _TEXT},
            "reading": {"type": "array", "items": _NOTE},
        },
    },
    "GradRequest": {
        "type": "object",
        "required": ["expression"],
        "additionalProperties": False,
        "properties": {
            "expression": _TEXT,
            "at": _POINT,
            "wrt": _NAMES,
            "order": _ORDER,
            "steps": _FLAG,
            "timeout": _TIMEOUT,
        },  # fmt: skip
    },
    "DerivativeRequest": {
        "type": "object",
        "required": ["expression"],
        "additionalProperties": False,
        "properties": {"expression": _TEXT, "wrt": _NAMES, "order": _ORDER, "timeout": _TIMEOUT},
    },
    "Grad": {
        "type": "object",
        "description": "gradcli grad --format json (docs/schema/grad.json with a point, derivative.json without)",
        "required": ["mathml"],
        "properties": {
            "mathml": _TEXT,
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text", "latex"],
                    "properties": {"text": _TEXT, "latex": _TEXT},
                },
            },  # fmt: skip
            "steps_withheld": _TEXT,
        },
    },
    "CheckRequest": {
        "type": "object",
        "required": ["expression", "answer"],
        "additionalProperties": False,
        "properties": {
            "expression": _TEXT,
            "answer": _TEXT,
            "at": _POINT,
            "wrt": _NAMES,
            "order": {"type": "integer", "minimum": 1, "maximum": 2, "default": 1},
            "timeout": _TIMEOUT,
        },  # fmt: skip
    },
    "Check": {
        "type": "object",
        "description": "gradcli check --format json (docs/schema/check.json), with gradable and feedback; an "
        "invalid batch item or a refused platform answer has verdict 'invalid' with message and position",
        "required": ["verdict", "gradable", "feedback"],
        "properties": {
            "verdict": {"enum": ["correct", "wrong", "undecided", "not differentiable", "invalid"]},
            "gradable": _FLAG,
            "feedback": _TEXT,
        },
    },
    "BatchRequest": {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.MAX_BATCH,
                "items": {"$ref": "#/components/schemas/CheckRequest"},
            },  # fmt: skip
            "timeout": _TIMEOUT,
        },
    },
    "Batch": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}}},
    },
    "PlotRequest": {
        "type": "object",
        "required": ["expression"],
        "additionalProperties": False,
        "properties": {
            "expression": _TEXT,
            "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "default": [-5, 5]},
            "at": {"type": ["number", "null"]},
            "n": {"type": "integer", "minimum": 2, "maximum": limits.MAX_PLOT_SAMPLES, "default": 201},
            "timeout": _TIMEOUT,
        },
    },
    "Plot": {
        "type": "object",
        "required": ["expression", "variable", "x", "f", "df", "tangent", "notes"],
        "properties": {
            "expression": _TEXT,
            "variable": _TEXT,
            "x": {"type": "array", "items": {"type": "number"}},
            "f": {"type": "array", "items": {"type": ["number", "null"]}},
            "df": {"type": "array", "items": {"type": ["number", "null"]}},
            "tangent": {
                "type": ["object", "null"],
                "required": ["at", "f", "slope"],
                "properties": {"at": {"type": "number"}, "f": {"type": "number"}, "slope": {"type": "number"}},
            },  # fmt: skip
            "notes": {"type": "array", "items": _NOTE},
        },
    },
    "PrairieLearnRequest": {
        "type": "object",
        "description": "the question's data.json: the problem in params, the answer in submitted_answers.answer",
        "required": ["params", "submitted_answers"],
        "properties": {"params": {"type": "object"}, "submitted_answers": {"type": "object"}, "timeout": _TIMEOUT},
    },
    "PrairieLearnResults": {
        "type": "object",
        "description": "PrairieLearn's external-grader results.json",
        "required": ["gradable", "message", "tests"],
        "properties": {
            "gradable": _FLAG,
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "message": _TEXT,
            "format_errors": {"type": "array", "items": _TEXT},
            "tests": {"type": "array", "items": {"type": "object"}},
        },
    },
    "XqueueRequest": {
        "type": "object",
        "description": "the submission xqueue pushes; xqueue_body (JSON text or object) holds student_response "
        "and grader_payload (the problem: expression, wrt, at, order)",
        "required": ["xqueue_body"],
        "properties": {"xqueue_header": {}, "xqueue_body": {}, "xqueue_files": {}, "timeout": _TIMEOUT},
    },
    "XqueueReply": {
        "type": "object",
        "required": ["correct", "score", "msg"],
        "additionalProperties": False,
        "properties": {"correct": _FLAG, "score": {"type": "number"}, "msg": _TEXT},
    },
}

_CALLS = {
    "validate": ("Parse only: gradcli's reading, its notes and a typeset preview", "ValidateRequest", "Validate"),
    "grad": ("The gradient at a point (with at) or the derivative's formula (without)", "GradRequest", "Grad"),
    "derivative": ("The derivative's formula, checked at sample points", "DerivativeRequest", "Grad"),
    "check": ("Is answer the derivative of expression?", "CheckRequest", "Check"),
    "check/batch": (f"Up to {limits.MAX_BATCH} checks, each answered on its own", "BatchRequest", "Batch"),
    "plot": ("f, f' and the tangent line over a range (one variable)", "PlotRequest", "Plot"),
    "adapters/prairielearn": ("A check in PrairieLearn's shapes", "PrairieLearnRequest", "PrairieLearnResults"),
    "adapters/xqueue": ("A check in edX xqueue's shapes", "XqueueRequest", "XqueueReply"),
}


def _ref(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _error(description: str) -> dict:
    return {"description": description, **_ref("Error")}


def _post(summary: str, request: str, response: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, **_ref(request)},
            "responses": {
                "200": {"description": "the answer", **_ref(response)},
                "400": _error("invalid input: what the command line refuses"),
                "401": _error("the token is missing or wrong (with --token)"),
                "403": _error("a cross-origin request"),
                "413": _error("the body or the batch is too large"),
                "415": _error("the body is not sent as application/json"),
                "421": _error("the Host header is not the server's own"),
                "422": _error("took too long (calls other than checks), or a bug in gradcli"),
                "429": _error("no warm child is free; try again"),
            },
        }
    }


def document() -> dict:
    paths = {f"/api/v1/{name}": _post(*call) for name, call in _CALLS.items()}
    plain = {"200": {"description": "ok"}}
    paths |= {
        "/healthz": {"get": {"summary": "The process answers", "responses": plain}},
        "/readyz": {
            "get": {"summary": "A warm child answered a known problem just now (else 503)", "responses": plain}
        },
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": plain}},
    }
    info = {"title": "gradcli serve", "version": __version__, "description": "docs/serve.md"}
    return {"openapi": "3.1.0", "info": info, "paths": paths, "components": {"schemas": SCHEMAS}}


def main(argv: list[str]) -> None:
    with open(argv[0], "w") as f:
        f.write(json.dumps(document(), indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
