"""Gradient descent on an expression: the seed's training loop, as a library function that never prints.

Each step records f on a GradientTape, takes the gradient, clips it if asked
(TensorFlow's own clip functions), and updates the parameters by the chosen
optimizer's standard rule. Every step is reported to a callback, which the CLI's
progress bar and the tests both use (autograd's optimizers have the same shape).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from gradcli.errors import Deadline, PointError
from gradcli.results.descent import Run, Step
from gradcli.solve.problem import Assignment, Options, prepare
from gradcli.witnesses.clip import Clip

OPTIMIZERS = ("sgd", "momentum", "adam")
DIVERGED = 1e12
MAX_STEPS = 100_000  # updates in one command, over all --lr values and epochs
MAX_RATES = 10
MAX_SEED = 2**32 - 1
MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8


def descend(
    expression: str,
    start: Assignment,
    lr: float = 0.1,
    steps: int = 100,
    optimizer: str = "sgd",
    clip: Clip | None = None,
    tol: float | None = None,
    const: Assignment | None = None,
    callback: Callable[[Step], None] | None = None,
    data: Mapping[str, np.ndarray] | None = None,
    epochs: int = 1,
    batch_size: int | None = None,
    seed: int = 0,
    from_latex: bool = False,
) -> Run:
    """Minimise `expression` from `start`; stop after `steps`, on convergence (gradient norm <= tol) or divergence.

    >>> descend("(w*2 - 6)**2", {"w": 0.5}, lr=0.1, steps=100, clip=Clip("value", -1, 1)).final.params
    {'w': 3.0...}
    """
    _check(lr, steps, optimizer, tol)
    if not isinstance(start, Mapping):
        raise PointError("descend starts from one point: give --from once")
    batches = None
    if data is not None:
        placeholders = {column: 0 for column in data if column not in start}
        problem = prepare(expression, start, Options(const={**(const or {}), **placeholders}, from_latex=from_latex))
        batches = _batches(data, placeholders, epochs, batch_size, seed)
        steps = len(batches)
    else:
        problem = prepare(expression, start, Options(const=const, from_latex=from_latex))
    from gradcli.witnesses.tape import descent_session

    session = descent_session(problem, clip)
    state = _Optimizer(optimizer, lr)
    history: list[Step] = []
    stopped, reason = "steps", f"ran all {steps} steps"
    deadline = Deadline("descend", "ask for fewer --steps (or fewer --epochs, a larger --batch-size)")
    for number in range(steps + 1):
        deadline.check(number, steps)
        # with data, step k uses batch k; the last row is the full-data loss at the final parameters
        batch = None if batches is None else (batches[number] if number < steps else _all(data, problem))
        loss, params, gradient, clipped = session.evaluate(batch)
        step = Step(number, loss, params, gradient, clipped)
        history.append(step)
        if callback:
            callback(step)
        if not math.isfinite(loss) or abs(loss) > DIVERGED:
            stopped = "diverged"
            reason = f"loss grew past {DIVERGED:g} at step {number}: try a smaller --lr"
            break
        if tol is not None and _norm(gradient) <= tol:
            stopped, reason = "converged", f"gradient norm <= {tol:g} at step {number}"
            break
        if number == steps:
            break
        session.assign(state.update(params, clipped))
    return Run(problem.text, optimizer, lr, clip, stopped, reason, tuple(history))


def _all(data, problem) -> dict[str, np.ndarray]:
    return {name: np.asarray(column) for name, column in data.items() if name in problem.constants}


def _batches(data, columns, epochs: int, batch_size: int | None, seed: int) -> list[dict[str, np.ndarray]]:
    """Every step's batch: all rows (full batch), one row (stochastic), or shuffled mini-batches."""
    if epochs < 1:
        raise PointError("--epochs must be at least 1")
    if not 0 <= seed <= MAX_SEED:
        raise PointError(f"--seed must be between 0 and {MAX_SEED}")
    n = len(next(iter(data.values())))
    size = n if batch_size is None else batch_size
    if not 1 <= size <= n:
        raise PointError(f"--batch-size must be between 1 and the number of rows ({n}), or all")
    if epochs * -(-n // size) > MAX_STEPS:  # checked before any batch is built: each one is a copy of rows
        raise PointError(
            f"--epochs {epochs} with {-(-n // size)} batches each is {epochs * -(-n // size)} steps; "
            f"the limit is {MAX_STEPS}"
        )
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(epochs):
        order = np.arange(n) if size == n else rng.permutation(n)
        for start in range(0, n, size):
            rows = order[start : start + size]
            batches.append({name: np.asarray(data[name])[rows] for name in columns})
    return batches


def _check(lr: float, steps: int, optimizer: str, tol: float | None) -> None:
    if optimizer not in OPTIMIZERS:
        raise PointError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise PointError(f"--lr must be a positive number, not {lr}")
    if not 0 <= steps <= MAX_STEPS:
        raise PointError(f"--steps must be between 0 and {MAX_STEPS}")
    if tol is not None and not (math.isfinite(tol) and tol >= 0):
        raise PointError(f"--tol must be a number >= 0, not {tol}")


def _norm(gradient: dict) -> float:
    return math.sqrt(sum(float(np.sum(np.square(g))) for g in gradient.values()))


class _Optimizer:
    """The standard update rules, written out so that a reader (and a test) can check them."""

    def __init__(self, name: str, lr: float):
        self.name, self.lr = name, lr
        self.velocity: dict = {}
        self.m: dict = {}
        self.v: dict = {}
        self.t = 0

    def update(self, params: dict, gradient: dict) -> dict:
        self.t += 1
        new = {}
        for name, g in gradient.items():
            g = np.asarray(g, dtype=np.float64)
            p = np.asarray(params[name], dtype=np.float64)
            if self.name == "sgd":  # p <- p - lr * g
                new[name] = p - self.lr * g
            elif self.name == "momentum":  # v <- mu * v + g;  p <- p - lr * v
                self.velocity[name] = MOMENTUM * self.velocity.get(name, 0.0) + g
                new[name] = p - self.lr * self.velocity[name]
            else:  # Adam (Kingma & Ba 2015), bias-corrected moments
                b1, b2 = ADAM_BETAS
                self.m[name] = b1 * self.m.get(name, 0.0) + (1 - b1) * g
                self.v[name] = b2 * self.v.get(name, 0.0) + (1 - b2) * g * g
                m_hat = self.m[name] / (1 - b1**self.t)
                v_hat = self.v[name] / (1 - b2**self.t)
                new[name] = p - self.lr * m_hat / (np.sqrt(v_hat) + ADAM_EPSILON)
        return new
