"""Points: the values given with --at and --const, parsed with the same safe parser."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gradcli.errors import LimitError, ParseError, PointError
from gradcli.lang.parser import FUNCTIONS, parse
from gradcli.lang.printers import to_text
from gradcli.lang.tree import CONSTANTS, ListOf, Node, constant_value, free_names, walk

MAX_ELEMENTS = 1000
MAX_POINTS = 1000
# 1e, 2.5E+ : a number whose exponent has no digits (never read as 1*e)
_NO_EXPONENT = re.compile(r"(?<![A-Za-z0-9_.])(?:\d+\.?\d*|\.\d+)[eE](?:[+-](?!\d)|(?![+\-0-9A-Za-z_]))")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Value:
    """One variable's value at a point: a scalar or a rectangular nested list."""

    tree: Node
    data: float | tuple  # nested tuples of floats for tensors
    shape: tuple[int, ...]

    @property
    def text(self) -> str:
        return to_text(self.tree)

    def as_list(self):
        return _to_list(self.data)

    def flat(self) -> list[float]:
        return list(_flatten(self.data))


def _to_list(data):
    return [_to_list(d) for d in data] if isinstance(data, tuple) else data


def _flatten(data):
    if isinstance(data, tuple):
        for item in data:
            yield from _flatten(item)
    else:
        yield data


def parse_value(text: str, name: str = "value") -> Value:
    """A number, a constant expression such as pi/2, or a nested list of them."""
    bad = _NO_EXPONENT.search(text)
    if bad:
        raise PointError(
            f"bad value for {name}: {bad.group().strip()!r} is not a number (an exponent needs digits, e.g. 1e3; "
            "for a multiple of e write 1*e)"
        )
    try:
        tree = parse(text, value=True)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"bad value for {name}: {exc.message}", exc.column, exc.hint) from exc
    names = free_names(tree)
    if names:
        raise PointError(f"bad value for {name}: values may use numbers, pi and e, not {', '.join(sorted(names))}")
    data = _evaluate(tree, name)
    shape = _shape(data, name)
    if math.prod(shape) > MAX_ELEMENTS:
        raise LimitError(f"{name} has {math.prod(shape)} elements; the limit is {MAX_ELEMENTS}")
    return Value(tree, data, shape)


def _evaluate(tree: Node, name: str):
    if isinstance(tree, ListOf):
        if not tree.items:
            raise PointError(f"bad value for {name}: empty list")
        return tuple(_evaluate(item, name) for item in tree.items)
    if any(isinstance(n, ListOf) for n in walk(tree)):
        raise PointError(f"bad value for {name}: lists cannot be combined with arithmetic")
    value = constant_value(tree)
    if value is None or not math.isfinite(value):
        raise PointError(f"bad value for {name}: {to_text(tree)} is not a finite number")
    return value


def _shape(data, name: str) -> tuple[int, ...]:
    if not isinstance(data, tuple):
        return ()
    shapes = {_shape(item, name) for item in data}
    if len(shapes) != 1:
        raise PointError(f"bad value for {name}: nested lists must be rectangular")
    return (len(data), *shapes.pop())


def split_assignments(text: str) -> list[tuple[str, str]]:
    """'x=1,y=[1,2]' -> [('x', '1'), ('y', '[1,2]')], splitting only at top-level commas."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += (char in "([") - (char in ")]")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    pairs = []
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not value.strip():
            raise PointError(f"bad point '{text}': write name=value, for example x=2")
        check_name(name)
        pairs.append((name, value.strip()))
    return pairs


def check_name(name: str) -> None:
    if not _NAME.match(name) or not name.isascii():
        raise PointError(f"bad name '{name}': names are letters, digits and '_', starting with a letter")
    if name in CONSTANTS:
        raise PointError(f"'{name}' is a built-in constant and cannot be given a value")
    if name in FUNCTIONS:
        raise PointError(f"'{name}' is a function name and cannot be given a value")


def group_points(options: list[str]) -> list[dict[str, str]]:
    """Turn repeated --at options into points.

    Options accumulate into one point until a name repeats, which starts the
    next point: `--at x=1 --at x=2` is two points, `--at x=[1,2] --at z=5` one.
    """
    points: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for option in options:
        for name, value in split_assignments(option):
            if name in current:
                points.append(current)
                current = {}
            current[name] = value
    if current:
        points.append(current)
    if len(points) > MAX_POINTS:
        raise LimitError(f"{len(points)} points given; the limit is {MAX_POINTS}")
    return points
