"""descend's output: the progress bar, the JSON document, the table of steps and the --trace CSV."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from gradcli.judge.explain import fmt
from gradcli.present.render import _flat, _labels, _width, exact_text


class DescentProgress:
    """A progress bar over the steps on stderr, only when stderr is a terminal; its step() is the callback."""

    def __init__(self, err: TextIO, steps: int, lr: float):
        self.progress = None
        if getattr(err, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(file=err), transient=True)
            self.task = self.progress.add_task(f"lr {lr:g}", total=steps + 1)

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def step(self, _step) -> None:
        if self.progress:
            self.progress.advance(self.task)

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()


def _selected(history, count: int = 10):
    """The first, every tenth of the way, and the last step."""
    last = len(history) - 1
    wanted = sorted({0, last, *(round(last * k / count) for k in range(1, count))})
    return [history[i] for i in wanted]


def _named(values: dict) -> str:
    return ", ".join(f"{n} = {fmt(v)}" for n, v in values.items())


def descent_document(runs) -> dict:
    """The JSON document of descend: the expression, the clip, and each run."""
    document = {"expression": runs[0].expression, "clip": runs[0].clip.to_dict() if runs[0].clip else None}
    document["runs"] = [run.to_dict() for run in runs]
    return document


def write_descent(runs, fmt_name: str, out: TextIO) -> None:
    document = descent_document(runs)
    if fmt_name != "table":
        separators = (",", ":") if fmt_name == "jsonl" else None
        out.write(json.dumps(document, indent=None if fmt_name == "jsonl" else 2, separators=separators) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=False, width=_width(out))
    clipped = runs[0].clip is not None
    for run in runs:
        title = f"descend f = {run.expression} ({run.optimizer}, lr {run.lr:g})"
        table = Table(title=Text(title), title_justify="left")
        for column in ("step", "loss", "parameters", "gradient", *(["clipped gradient"] if clipped else [])):
            table.add_column(column, overflow="fold")
        for step in _selected(run.history):
            cells = [str(step.step), fmt(step.loss), _named(step.params), _named(step.gradient)]
            table.add_row(*map(Text, cells + ([_named(step.clipped)] if clipped else [])))
        console.print(table)
        console.print(Text(f"final: {_named(run.final.params)}, loss {fmt(run.final.loss)}"))
        style = "yellow" if run.stopped == "diverged" else "green"
        console.print(Text(f"stopped: {run.reason}", style=style))
    if len(runs) > 1:
        table = Table(title=Text("learning rates side by side"), title_justify="left")
        for column in ("lr", "stopped", "steps", "final loss", "final parameters"):
            table.add_column(column)
        for run in runs:
            cells = [f"{run.lr:g}", run.stopped, str(run.final.step), fmt(run.final.loss), _named(run.final.params)]
            table.add_row(*map(Text, cells))
        console.print(table)


def write_trace(runs, path: str) -> None:
    """Every step of every run as CSV: lr, step, loss, then each parameter, gradient and clipped gradient."""
    first = runs[0].history[0]
    names = [label for n, v in first.params.items() for label in _labels(n, v)]
    header = ["lr", "step", "loss", *names, *(f"grad_{n}" for n in names), *(f"clipped_{n}" for n in names)]
    from gradcli.runtime.files import atomic_write

    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for run in runs:
            for step in run.history:
                values = [v for part in (step.params, step.gradient, step.clipped) for v in _flat_all(part)]
                writer.writerow([repr(run.lr), step.step, exact_text(step.loss), *map(exact_text, values)])


def _flat_all(values: dict) -> list[float]:
    return [x for v in values.values() for x in _flat(v)]
