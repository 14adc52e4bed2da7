"""Every agreement tolerance gradcli uses, in one table, and the one comparison that applies them.

Two witnesses agree elementwise when |a - b| <= atol * max(1, scale) + rtol * max(|a|, |b|), both finite,
where scale is |f| at the point (an absolute floor that grows with the function's size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def to_dict(self) -> dict:
        return {"rtol": self.rtol, "atol": self.atol}


# The tape against the exact value, by the tape's dtype: float32 carries about 7 digits.
TAPE = {"float64": Tolerance(rtol=1e-9, atol=1e-12), "float32": Tolerance(rtol=1e-4, atol=1e-5)}
# Finite differences (float64, first order) against the exact value.
FINITE_DIFFERENCE = Tolerance(rtol=1e-6, atol=1e-8)
# Grading (gradcli check): an answer equals the derivative up to rounding, relative to the size of the
# terms the difference is made from; two 30-digit values at one point agree to this.
GRADE_EXACT_RTOL = 1e-10
GRADE_POINT_RTOL = 1e-12
# An error bar counts this many times its estimate (estimates are within a factor of a few).
ERROR_BARS = 3.0


def tape(dtype: str) -> Tolerance:
    return TAPE[dtype]


def fd_relative(order: int) -> float:
    """Finite differences of order n in float64 are good to about eps**(2/(n+2)); allow 100 times that."""
    return 100 * EPS ** (2 / (order + 2))


def finite_difference(order: int = 1) -> Tolerance:
    if order == 1:
        return FINITE_DIFFERENCE
    rtol = float(f"{fd_relative(order):.2g}")
    return Tolerance(rtol=rtol, atol=rtol)


def close_each(a, b, tolerance: Tolerance, scale=1.0) -> np.ndarray:
    """Elementwise |a - b| <= atol * max(1, scale) + rtol * max(|a|, |b|), both finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        bound = tolerance.atol * np.maximum(1.0, scale) + tolerance.rtol * np.maximum(np.abs(a), np.abs(b))
        return np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= bound)


def within_error(a, b, error) -> np.ndarray:
    """Elementwise: a and b differ by no more than the error bars allow, both finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        error = np.asarray(error, dtype=np.float64)
        return np.isfinite(a) & np.isfinite(b) & np.isfinite(error) & (np.abs(a - b) <= ERROR_BARS * error)
