"""What an API request may say: each endpoint's fields, their types and bounds, checked before any work.

Standard library only: the server process checks every body here, so a malformed request never costs a
warm child. A field that an endpoint does not take is refused, as the command line refuses an option
that does not apply; every refusal is one sentence for a student (`Refused`, a 4xx).
"""

from __future__ import annotations

import json
import math

MAX_BODY = 256 * 1024  # bytes of one request body
MAX_BATCH = 100  # checks in one /check/batch
DEFAULT_TIMEOUT = 5.0  # seconds of wall time a request may take
MAX_TIMEOUT = 30.0
MAX_ORDER = 6  # what `gradcli grad --order` takes
MAX_PLOT_SAMPLES = 2001
MAX_POINT_NAMES = 32


class Refused(Exception):
    """A request the API will not run: `message` is for the student; `status` the HTTP code."""

    def __init__(self, message: str, status: int = 400, position: int | None = None):
        super().__init__(message)
        self.message, self.status, self.position = message, status, position

    def to_dict(self) -> dict:
        return {"message": self.message, "position": self.position}


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise Refused(f"'{name}' must be text")
    return value


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise Refused(f"'{name}' must be true or false")
    return value


def _integer(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Refused(f"'{name}' must be a whole number from {lo} to {hi}")
    return value


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"'{name}' must be a finite number")
    return float(value)


def _names(value, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Refused(f"'{name}' must be a list of variable names, e.g. [\"x\"]")
    return value


def _point(value, name: str) -> dict | None:
    """A point {"x": 2, "y": "pi/2"}: numbers, or text that gradcli's value reader reads (in the child)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value or len(value) > MAX_POINT_NAMES:
        raise Refused(f"'{name}' must be an object of variable values, e.g. {{\"x\": 2}}")
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, int | float | str | list):
            raise Refused(f"'{name}': the value of {key} must be a number, text or a list")
        if isinstance(item, float) and not math.isfinite(item):
            raise Refused(f"'{name}': the value of {key} must be finite")
    return value


def timeout(body: dict) -> float:
    """The request's wall-time limit: the caller may ask for less than the default, and for up to the cap."""
    value = body.get("timeout", DEFAULT_TIMEOUT)
    seconds = _number(value, "timeout")
    if seconds <= 0:
        raise Refused("'timeout' must be more than 0 seconds")
    return min(seconds, MAX_TIMEOUT)


# field -> (reader, default); a field absent from an endpoint's table is refused
_EXPRESSION = {"expression": (_text, ...)}
_FIELDS: dict[str, dict] = {
    "validate": {**_EXPRESSION, "latex": (_flag, False)},
    "grad": {
        **_EXPRESSION,
        "at": (_point, None),
        "wrt": (_names, None),
        "order": (lambda v, n: _integer(v, n, 1, MAX_ORDER), 1),
        "steps": (_flag, False),
    },
    "derivative": {**_EXPRESSION, "wrt": (_names, None), "order": (lambda v, n: _integer(v, n, 1, MAX_ORDER), 1)},
    "check": {
        **_EXPRESSION,
        "answer": (_text, ...),
        "at": (_point, None),
        "wrt": (_names, None),
        "order": (lambda v, n: _integer(v, n, 1, 2), 1),
    },
    "plot": {
        **_EXPRESSION,
        "range": (None, [-5, 5]),
        "at": (lambda v, n: None if v is None else _number(v, n), None),
        "n": (lambda v, n: _integer(v, n, 2, MAX_PLOT_SAMPLES), 201),
    },
}
ENDPOINTS = (
    "validate",
    "grad",
    "derivative",
    "check",
    "check/batch",
    "plot",
    "adapters/prairielearn",
    "adapters/xqueue",
)


def decode(raw: bytes) -> dict:
    """The JSON object of a request body, or Refused."""
    if len(raw) > MAX_BODY:
        raise Refused(f"the request is {len(raw)} bytes; the limit is {MAX_BODY}", status=413)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise Refused(f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refused("the request body must be a JSON object")
    return body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def fields(endpoint: str, body: dict) -> dict:
    """The endpoint's fields of body, each checked, with defaults filled in (timeout is read apart)."""
    if endpoint == "check/batch":
        return {"items": batch_items(body)}
    table = _FIELDS[endpoint]
    unknown = sorted(set(body) - set(table) - {"timeout"})
    if unknown:
        raise Refused(f"{endpoint} does not take {', '.join(repr(u) for u in unknown)}")
    out = {}
    for name, (reader, default) in table.items():
        if name not in body:
            if default is ...:
                raise Refused(f"give '{name}'")
            out[name] = default
        else:
            out[name] = _plot_range(body[name]) if name == "range" else reader(body[name], name)
    return out


def _plot_range(value) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise Refused("'range' must be [low, high], e.g. [-5, 5]")
    lo, hi = (_number(v, "range") for v in value)
    if lo >= hi:
        raise Refused("'range' must be [low, high] with low < high")
    return [lo, hi]


def batch_items(body: dict) -> list[dict | Refused]:
    unknown = sorted(set(body) - {"items", "timeout"})
    if unknown:
        raise Refused(f"check/batch does not take {', '.join(repr(u) for u in unknown)}")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise Refused("'items' must be a list of check requests")
    if len(items) > MAX_BATCH:
        raise Refused(f"a batch has {len(items)} items; the limit is {MAX_BATCH}", status=413)
    return [_item(i, item) for i, item in enumerate(items)]


def _item(i: int, item) -> dict | Refused:
    """One batch item's fields, or its refusal: a bad item is answered on its own, never costs the batch."""
    if not isinstance(item, dict):
        return Refused(f"item {i}: a check request must be a JSON object")
    if "timeout" in item:
        return Refused(f"item {i}: give 'timeout' once, for the whole batch")
    try:
        return fields("check", item)
    except Refused as exc:
        return Refused(f"item {i}: {exc.message}", exc.status)
