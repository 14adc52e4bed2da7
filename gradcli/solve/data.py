"""Data for descend: the columns of a --data CSV, checked against the loss; and synthetic data sets."""

from __future__ import annotations

import math
from collections.abc import Iterable

from gradcli.errors import GradcliError


def columns(
    lines: Iterable, path: str, expression: str, start: dict, const: dict, from_latex: bool = False, quote: bool = True
) -> dict:
    """The data columns of a CSV that the loss uses, with file, line and column named for any problem; without
    `quote` (a confined batch line) no error holds any of the file's text."""
    import numpy as np

    from gradcli.lang.parser import inline, parse_program
    from gradcli.lang.tree import free_names
    from gradcli.solve import points as many

    header, blocks = many.read_points(lines, quote=quote)
    names = frozenset().union(*map(free_names, inline(parse_program(expression, latex=from_latex)).values()))
    missing = sorted(names - set(start) - set(const) - set(header))
    if missing:
        shape = many.header_shape(header, quote)
        raise GradcliError(f"{', '.join(missing)} is neither a --from parameter nor a column of {path} ({shape})")
    values, rows = [], 0
    for block in blocks:
        if isinstance(block, many.BadRow):
            raise GradcliError(f"{path} line {block.line}: {block.message}")
        values.append(block.values)
        rows += len(block.values)
        if rows > many.MAX_DATA_ROWS:
            raise GradcliError(f"{path} has more than {many.MAX_DATA_ROWS} rows, the limit for --data")
    if not values:
        raise GradcliError(f"{path} has a header but no rows of data")
    table = np.concatenate(values)
    return {name: table[:, i] for i, name in enumerate(header) if name in names and name not in start}


def line(slope: float, intercept: float, noise: float, n: int, seed: int) -> str:
    """Points near the line y = slope*x + intercept, x uniform in [-2, 2], as CSV with columns x,y."""
    import numpy as np

    if not 1 <= n <= 1_000_000 or not noise >= 0:  # `not >=`: nan is refused too
        raise GradcliError("-n must be between 1 and 1000000 and --noise at least 0")
    for option, value in (("--slope", slope), ("--intercept", intercept), ("--noise", noise)):
        if not math.isfinite(value):
            raise GradcliError(f"{option} must be a finite number, not {value!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    y = slope * x + intercept + noise * rng.normal(size=n)
    return "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
