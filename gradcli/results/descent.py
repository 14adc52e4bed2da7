"""The result of a descent: each step's loss, parameters and gradients, and why it stopped."""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcli.results.gradient import json_number
from gradcli.witnesses.clip import Clip


@dataclass(frozen=True)
class Step:
    step: int  # 0 is the starting point, before any update
    loss: float
    params: dict[str, object]
    gradient: dict[str, object]  # the tape's gradient at these params
    clipped: dict[str, object]  # what the update used (equal to gradient without clipping)

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "loss": json_number(self.loss),
            "params": {n: json_number(v) for n, v in self.params.items()},
            "gradient": {n: json_number(v) for n, v in self.gradient.items()},
            "clipped": {n: json_number(v) for n, v in self.clipped.items()},
        }


@dataclass(frozen=True)
class Run:
    expression: str
    optimizer: str
    lr: float
    clip: Clip | None
    stopped: str  # "steps", "converged" or "diverged"
    reason: str
    history: tuple[Step, ...] = field(repr=False)

    @property
    def final(self) -> Step:
        return self.history[-1]

    def to_dict(self) -> dict:
        return {
            "optimizer": self.optimizer,
            "lr": self.lr,
            "stopped": self.stopped,
            "reason": self.reason,
            "steps": self.final.step,
            "final": self.final.to_dict(),
            "history": [s.to_dict() for s in self.history],
        }
