"""Gradient clipping as TensorFlow defines it, in numpy, for the exact and finite-difference columns.

The tape's column is clipped by TensorFlow itself (tape.clip); applying the same
rule here to the exact and finite-difference values keeps the agreement check
meaningful after clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradcli.errors import PointError


@dataclass(frozen=True)
class Clip:
    method: str  # "value", "norm" or "global_norm"
    low: float | None = None
    high: float | None = None
    norm: float | None = None

    def to_dict(self) -> dict:
        if self.method == "value":
            return {"method": "value", "min": self.low, "max": self.high}
        return {"method": self.method, "clip_norm": self.norm}

    def describe(self) -> str:
        if self.method == "value":
            return f"tf.clip_by_value(g, {self.low:g}, {self.high:g}) on each gradient"
        if self.method == "norm":
            return f"tf.clip_by_norm(g, {self.norm:g}) on each variable's gradient"
        return f"tf.clip_by_global_norm(gradients, {self.norm:g}) over all watched variables together"


def parse_clip(value: str | None = None, norm: float | None = None, global_norm: float | None = None) -> Clip | None:
    given = [option for option in (value, norm, global_norm) if option is not None]
    if len(given) > 1:
        raise PointError("give only one of --clip-value, --clip-norm, --clip-global-norm")
    if value is not None:
        low, sep, high = value.partition(":")
        try:
            low_f, high_f = float(low), float(high)
        except ValueError:
            raise PointError(f"--clip-value {value!r}: write MIN:MAX, for example -10:10") from None
        if not sep or not (math.isfinite(low_f) and math.isfinite(high_f)) or low_f > high_f:
            raise PointError(f"--clip-value {value!r}: write MIN:MAX with MIN <= MAX, for example -10:10")
        return Clip("value", low=low_f, high=high_f)
    for method, amount in (("norm", norm), ("global_norm", global_norm)):
        if amount is not None:
            if not (math.isfinite(amount) and amount > 0):
                raise PointError(f"--clip-{method.replace('_', '-')} must be a positive number, not {amount}")
            return Clip(method, norm=float(amount))
    return None


def _scale(norm: float, limit: float) -> float:
    """TensorFlow's factor limit / max(norm, limit): 1 when within the limit, and a zero gradient stays zero."""
    return limit / max(norm, limit)


def apply(clip: Clip, gradients: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(g, dtype=np.float64) for name, g in gradients.items()}
    if clip.method == "value":
        return {name: np.clip(g, clip.low, clip.high) for name, g in arrays.items()}
    if clip.method == "norm":
        return {name: g * _scale(float(np.sqrt(np.sum(g * g))), clip.norm) for name, g in arrays.items()}
    total = math.sqrt(sum(float(np.sum(g * g)) for g in arrays.values()))
    factor = _scale(total, clip.norm)
    return {name: g * factor for name, g in arrays.items()}
