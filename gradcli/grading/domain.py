"""Where a function lives: sample points at which it and its derivatives are real and finite.

The real domain can lie far from 0 (log(x - 100)), be narrow (asin(x)) or be
shaped by two variables (log(x*y - 1)). Candidates are drawn at widening scales
(a box of side 3, then 100, 10**4 and 10**6, each mixed with magnitudes spread
over many decades and with points near the boundaries found from the tree:
zeros of the arguments of log, sqrt, fractional powers, asin/acos and of
denominators), and only those where every given function is finite are kept.
A --range a:b confines a variable to [a, b]. The budget is bounded.

Values are computed in float64 (by the one sympy -> numpy translator, witnesses/symbolic.py) together
with a *magnitude*: a bound on the size of the terms the value was made from. A difference is judged against it, so
cos(x)**2 + sin(x)**2 - 1 is 0 to rounding, while 2e-12*x is not 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.witnesses.symbolic import NotVectorisable as NotVectorisable  # what check and mistakes catch
from gradcli.witnesses.symbolic import to_numpy

WANTED = 200
ROUND = 1000  # candidates per round
SCALES = (3.0, 100.0, 1e4, 1e6)
SOLVE_SECONDS = 1


@dataclass(frozen=True)
class Sample:
    """The kept points (name -> array) and what was tried to find them."""

    env: dict
    tried: int
    ranges: dict  # name -> (low, high) of the candidates drawn

    @property
    def size(self) -> int:
        return len(next(iter(self.env.values()))) if self.env else 0

    def describe(self) -> str:
        """The box the kept points span (what was sampled), else the box tried."""
        if self.size:
            return ", ".join(f"{n} in [{_short(v.min())}, {_short(v.max())}]" for n, v in self.env.items())
        return ", ".join(f"{n} in [{_short(lo)}, {_short(hi)}]" for n, (lo, hi) in self.ranges.items())


def _short(value: float) -> str:
    return f"{value:.4g}"


def sample(names, functions, symbols, ranges=None, project=None, seed=0) -> Sample:
    """Up to WANTED points where every sympy expression in `functions` is finite.

    `symbols` maps each name to its sympy symbol; `ranges` maps a name to (low, high);
    `project(env)` may move candidates (onto a curve) and return the kept mask.
    """
    ranges = ranges or {}
    rng = np.random.default_rng(seed)
    critical = {n: _critical_values(functions, symbols[n]) for n in names if n not in ranges}
    mapping = {symbols[n]: n for n in names}
    kept = {n: [] for n in names}
    count, tried, lows, highs = 0, 0, dict.fromkeys(names, np.inf), dict.fromkeys(names, -np.inf)
    for scale in SCALES:
        env = {n: _candidates(rng, ranges.get(n), critical.get(n, []), scale) for n in names}
        tried += ROUND
        for n in names:
            lows[n], highs[n] = min(lows[n], env[n].min()), max(highs[n], env[n].max())
        ok = np.ones(ROUND, dtype=bool)
        if project is not None:
            ok &= project(env)
        with np.errstate(all="ignore"):
            for f in functions:
                value, _ = evaluate(f, mapping, env)
                ok &= np.isfinite(np.broadcast_to(value, (ROUND,)))
        for n in names:
            kept[n].append(env[n][ok])
        count += int(ok.sum())
        if count >= WANTED or (ranges and set(ranges) >= set(names)):
            break
    env = {n: np.concatenate(kept[n]) for n in names}
    if count > WANTED:  # keep the points of the smallest rounds first: nearer 0, easier to read
        env = {n: v[:WANTED] for n, v in env.items()}
    return Sample(env, tried, {n: (float(lows[n]), float(highs[n])) for n in names})


def _candidates(rng, limits, critical, scale):
    if limits is not None:
        low, high = limits
        return rng.uniform(low, high, ROUND)
    quarter = ROUND // 4
    top = np.log10(scale)
    parts = [
        rng.uniform(-scale, scale, quarter),
        rng.choice([-1.0, 1.0], quarter) * 10 ** rng.uniform(-2, top, quarter),
    ]
    if critical:
        centres = rng.choice(np.array(critical), 2 * quarter)
        offsets = rng.choice([-1.0, 1.0], 2 * quarter) * 10 ** rng.uniform(-4, max(top, 2.0), 2 * quarter)
        parts.append(centres + offsets)
    else:
        parts.append(rng.uniform(-min(scale, 3.0), min(scale, 3.0), 2 * quarter))
    return np.concatenate(parts)[:ROUND]


def _critical_values(functions, symbol) -> list[float]:
    """Real zeros of one-variable arguments whose sign decides whether the expression is real."""
    import sympy

    from gradcli.errors import LimitError
    from gradcli.witnesses.symbolic import time_limit

    arguments = set()
    for f in functions:
        for node in sympy.preorder_traversal(f):
            if isinstance(node, sympy.log):
                arguments.add(node.args[0])
            elif isinstance(node, sympy.Pow) and (not node.exp.is_Integer or node.exp.is_negative):
                arguments.add(node.base)
            elif isinstance(node, sympy.asin | sympy.acos):
                arguments.update({node.args[0] - 1, node.args[0] + 1})
    values = []
    for u in sorted((a for a in arguments if a.free_symbols == {symbol}), key=sympy.count_ops)[:6]:
        try:
            with time_limit(SOLVE_SECONDS, "finding the domain"):
                roots = sympy.solveset(u, symbol, sympy.S.Reals)
                if isinstance(roots, sympy.FiniteSet):
                    values += [float(r) for r in roots if r.is_real and abs(float(r)) < 1e12]
        except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError, NotImplementedError):
            continue
    return sorted(set(values))


def evaluate(expr, names: dict, env: dict):
    """(value, magnitude) of a sympy expression in float64 over arrays of points."""
    return to_numpy(expr, names, magnitudes=True)(env)


def close(value, mag, other, other_mag, rtol: float):
    """Equal to within rtol of the larger magnitude; a non-finite value is equal to nothing."""
    with np.errstate(all="ignore"):
        scale = np.maximum(mag, other_mag)
        return np.isfinite(value) & np.isfinite(other) & (np.abs(value - other) <= rtol * scale)
