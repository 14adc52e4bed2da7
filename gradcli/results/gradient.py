"""Result objects: small frozen dataclasses of plain Python values; to_dict() is the JSON contract."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradcli.errors import ExitCode
from gradcli.tolerance import Tolerance

Number = float | list  # a float, or nested lists of floats for tensors
REPR_POINTS = 5  # a result's plain repr shows this many points


def json_number(value):
    """JSON has no NaN or infinity: those become the strings "nan", "inf", "-inf"."""
    if isinstance(value, list):
        return [json_number(v) for v in value]
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


@dataclass(frozen=True)
class Partial:
    """One row: the derivative with respect to one name at one point, three ways."""

    name: str
    watched: bool
    tape: Number | None  # None: a constant the tape did not watch
    symbolic: str
    exact: Number
    finite_difference: Number
    agree: bool
    clipped: bool = False  # with clipping, tape/exact/finite_difference are the clipped values
    unclipped: Number | None = None  # the tape's raw gradient
    exact_unclipped: Number | None = None
    without_stop: Number | None = None  # the tape's gradient with every stop_gradient removed
    true_symbolic: str | None = None  # with custom gradients: the derivative of the true function
    true_exact: Number | None = None
    finite_difference_error: Number | None = None  # the estimate's error bound
    finite_difference_method: str = "central difference"  # or "complex step", "one-sided", "mixed"
    odd: str | None = None  # when the witnesses disagree: "tape", "exact" or "finite_difference", if one is odd
    frameworks: dict | None = None  # with --frameworks: framework -> its gradient (None: the framework's None)
    intermediate: bool = False  # a named step, not an input: tape.gradient(f, step)

    def to_dict(self) -> dict:
        out = {
            "tape": json_number(self.tape),
            "symbolic": self.symbolic,
            "exact": json_number(self.exact),
            "finite_difference": json_number(self.finite_difference),
            "finite_difference_error": json_number(self.finite_difference_error),
            "finite_difference_method": self.finite_difference_method,
            "agree": self.agree,
            "watched": self.watched,
        }
        if self.clipped:
            out["unclipped"] = json_number(self.unclipped)
            out["exact_unclipped"] = json_number(self.exact_unclipped)
        if self.without_stop is not None:
            out["without_stop"] = json_number(self.without_stop)
        if self.true_symbolic is not None:
            out["true_symbolic"] = self.true_symbolic
            out["true_exact"] = json_number(self.true_exact)
        if self.frameworks is not None:
            out["frameworks"] = {name: json_number(v) for name, v in self.frameworks.items()}
        if self.intermediate:
            out["intermediate"] = True
        return out


class Partials(tuple):
    """A point's rows in order, also reachable by variable name: gradient[0] or gradient["x"].

    A tuple (so equality, iteration and pickling are a tuple's); to_dict() keys the rows by name as before.
    """

    __slots__ = ()

    def __getitem__(self, key):
        if isinstance(key, str):
            for partial in self:
                if partial.name == key:
                    return partial
            raise KeyError(f"{key!r} is not a row here; the rows are {', '.join(self.names) or 'none'}")
        return super().__getitem__(key)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self)


@dataclass(frozen=True)
class PointResult:
    at: dict[str, Number]
    value: float
    gradient: tuple[Partial, ...]
    notes: tuple  # of judge.Note
    differentiable: bool
    of: str | None = None  # the target step, with --of

    def __post_init__(self) -> None:
        object.__setattr__(self, "gradient", Partials(self.gradient))

    @property
    def agree(self) -> bool:
        return all(p.agree for p in self.gradient)

    @property
    def status(self) -> str:
        """This point's verdict, in the words of the whole result's `status` and of --points' status column."""
        if not self.differentiable:
            return "not differentiable"
        return "agree" if self.agree else "disagree"

    def to_dict(self) -> dict:
        target = {"of": self.of} if self.of else {}
        return {
            **target,
            "at": {name: json_number(v) for name, v in self.at.items()},
            "value": json_number(self.value),
            "gradient": {p.name: p.to_dict() for p in self.gradient},
            "notes": [n.to_dict() for n in self.notes],
            "differentiable": self.differentiable,
        }


class Verdict:
    """Exit code and status from the results' `differentiable` and `agree` (shared by every command)."""

    results: tuple

    @property
    def exit_code(self) -> ExitCode:
        if not all(r.differentiable for r in self.results):
            return ExitCode.NOT_DIFFERENTIABLE
        if not all(r.agree for r in self.results):
            return ExitCode.DISAGREE
        return ExitCode.OK

    @property
    def status(self) -> str:
        return {
            ExitCode.OK: "agree",
            ExitCode.DISAGREE: "disagree",
            ExitCode.NOT_DIFFERENTIABLE: "not differentiable",
        }[self.exit_code]


@dataclass(frozen=True)
class GradResult(Verdict):
    expression: str  # as gradcli understood it
    input: str  # as the user typed it
    wrt: tuple[str, ...]
    constants: dict[str, Number]
    dtype: str
    tape_tolerance: Tolerance
    fd_tolerance: Tolerance
    results: tuple[PointResult, ...]
    order: int = 1
    clip: object = None  # gradcli.witnesses.clip.Clip
    targets: tuple[str, ...] = ()  # with --of
    persistent: bool = False
    recordings: int = 1  # tape recordings per point
    customs: dict[str, str] = field(default_factory=dict)  # name -> "name(x) = body : rule"
    steps: dict[str, list] = field(default_factory=dict)  # with --steps: name -> derivation steps
    latex: dict = field(default_factory=dict)  # with --latex
    summed: str | None = None  # a list or tensor expression: "list" or "tensor"
    unconnected: str | None = None  # with sources f does not use: "none" or "zero"
    frameworks: tuple[str, ...] = ()  # with --frameworks: tensorflow and the optional frameworks installed
    reading: tuple = ()  # of lang.notation.Note: how the expression was read where it could surprise
    graph: object = None  # with --graph: gradcli.results.graph.Graph at the one point

    def __repr__(self) -> str:
        """What print(r) and a Python console show: the verdict, then one line per point and row."""
        from gradcli.judge.explain import fmt

        title = self.expression if ";" in self.expression else f"f = {self.expression}"
        lines = [f"<{type(self).__name__} {title}: {self.status} (exit {int(self.exit_code)})>"]
        for point in self.results[:REPR_POINTS]:
            where = ", ".join(f"{n} = {fmt(v)}" for n, v in point.at.items()) or "the constants"
            lines.append(f"  at {where}{f' ({point.of})' if point.of else ''}: f = {fmt(point.value)}")
            for p in point.gradient:
                said = f"tape {fmt(p.tape)}" if p.watched else "tape: not watched"
                mark = "agree" if p.agree else "DISAGREE"
                row = f"{p.name} (intermediate)" if p.intermediate else p.name
                lines.append(
                    f"    d/d{row}: {said}, exact {fmt(p.exact)}, finite diff. {fmt(p.finite_difference)}  {mark}"
                )
        if len(self.results) > REPR_POINTS:
            lines.append(f"  ... {len(self.results) - REPR_POINTS} more points")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        several = {"targets": list(self.targets), "persistent": self.persistent, "recordings": self.recordings}
        return {
            **(several if self.targets else {}),
            **({"summed": self.summed} if self.summed else {}),
            **({"unconnected": self.unconnected} if self.unconnected else {}),
            **({"frameworks": list(self.frameworks)} if self.frameworks else {}),
            **({"custom": dict(self.customs)} if self.customs else {}),
            "expression": self.expression,
            "input": self.input,
            "reading": [n.to_dict() for n in self.reading],
            "wrt": list(self.wrt),
            "constants": {name: json_number(v) for name, v in self.constants.items()},
            "dtype": self.dtype,
            "order": self.order,
            "clip": self.clip.to_dict() if self.clip else None,
            "tolerance": {"tape": self.tape_tolerance.to_dict(), "finite_difference": self.fd_tolerance.to_dict()},
            "status": self.status,
            "exit_code": int(self.exit_code),
            "results": [r.to_dict() for r in self.results],
            **({"steps": {n: [s.to_dict() for s in steps] for n, steps in self.steps.items()}} if self.steps else {}),
            **({"latex": self.latex} if self.latex else {}),
            **({"graph": self.graph.to_dict()} if self.graph is not None else {}),
        }


@dataclass(frozen=True)
class MatrixPoint:
    """A Jacobian or Hessian at one point, three ways; rows and columns are labelled in MatrixResult."""

    at: dict[str, Number]
    value: Number
    tape: list[list[float]]
    symbolic: list[list[str]]
    exact: list[list[float]]
    finite_difference: list[list[float]]
    agree_each: list[list[bool]]
    notes: tuple  # of judge.Note
    differentiable: bool

    @property
    def agree(self) -> bool:
        return all(all(row) for row in self.agree_each)

    def to_dict(self, kind: str) -> dict:
        return {
            "at": {name: json_number(v) for name, v in self.at.items()},
            "value": json_number(self.value),
            kind: {
                "tape": json_number(self.tape),
                "symbolic": self.symbolic,
                "exact": json_number(self.exact),
                "finite_difference": json_number(self.finite_difference),
                "agree": self.agree,
            },
            "notes": [n.to_dict() for n in self.notes],
            "differentiable": self.differentiable,
        }


@dataclass(frozen=True)
class MatrixResult(Verdict):
    kind: str  # "jacobian" or "hessian"
    expression: str
    input: str
    wrt: tuple[str, ...]
    rows: tuple[str, ...]  # output labels (Jacobian) or input elements (Hessian)
    columns: tuple[str, ...]  # input elements: x, or x[0], x[1], ...
    constants: dict[str, Number]
    dtype: str
    tape_tolerance: Tolerance
    fd_tolerance: Tolerance
    results: tuple[MatrixPoint, ...]
    reading: tuple = ()  # of lang.notation.Note

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "expression": self.expression,
            "input": self.input,
            "reading": [n.to_dict() for n in self.reading],
            "wrt": list(self.wrt),
            "rows": list(self.rows),
            "columns": list(self.columns),
            "constants": {name: json_number(v) for name, v in self.constants.items()},
            "dtype": self.dtype,
            "tolerance": {"tape": self.tape_tolerance.to_dict(), "finite_difference": self.fd_tolerance.to_dict()},
            "status": self.status,
            "exit_code": int(self.exit_code),
            "results": [r.to_dict(self.kind) for r in self.results],
        }


@dataclass(frozen=True)
class ProductResult(GradResult):
    """A JVP (one row, `jvp`) or a VJP (one row per variable), judged like a gradient."""

    product: str = "jvp"  # or "vjp"
    vector: Number | dict = field(default_factory=dict)  # the tangent (name -> value) or the upstream gradient

    def to_dict(self) -> dict:
        if self.product == "jvp":
            vector = {"tangent": {name: json_number(v) for name, v in self.vector.items()}}
        else:
            vector = {"upstream": json_number(self.vector)}
        return {"product": self.product, **vector, **super().to_dict()}
