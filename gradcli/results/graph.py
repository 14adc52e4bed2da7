"""The computation graph at one point (grad --graph): plain data; to_dict() is the JSON contract
(docs/json.md, docs/schema/graph.json)."""

from __future__ import annotations

from dataclasses import dataclass

from gradcli.results.gradient import json_number


@dataclass(frozen=True)
class GraphNode:
    """One node: a leaf (an input, a constant or a number) or an operation, with its forward value and its
    adjoint df/dnode from the tape, sympy's adjoint beside it, and whether the two agree."""

    id: int
    label: str  # the operation (+, *, sin, ...), the name, or the number
    text: str  # the subexpression this node computes
    kind: str  # "input", "constant", "number" or "operation"
    value: float
    adjoint: float | None  # from the tape; None: an unwatched constant, which the tape does not see
    exact: float | None  # sympy's df/dnode at 30 digits
    agree: bool  # the tape's adjoint equals sympy's
    step: str | None = None  # the named step this node computes
    checks: dict | None = None  # a leaf: does its adjoint equal the tape's row, sympy's and finite differences'
    notes: tuple[str, ...] = ()  # the judge's notes about a kink, pole or non-finite value at this node

    def to_dict(self) -> dict:
        return {
            "id": self.id, "label": self.label, "text": self.text, "kind": self.kind, "step": self.step,
            "value": json_number(self.value), "adjoint": json_number(self.adjoint),
            "exact": json_number(self.exact), "agree": self.agree, "checks": self.checks, "notes": list(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class GraphEdge:
    """One use of a child by a parent: d parent / d child along it, and the part of the child's adjoint it
    carries (the parent's adjoint times the local derivative)."""

    parent: int
    child: int
    local: float
    adjoint: float

    def to_dict(self) -> dict:
        return {
            "parent": self.parent, "child": self.child,
            "local": json_number(self.local), "adjoint": json_number(self.adjoint),
        }  # fmt: skip


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order (children first; the last node is f) and every edge."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def into(self, node: int) -> tuple[GraphEdge, ...]:
        """The edges out of a node toward its parents: the paths whose sum is its adjoint."""
        return tuple(e for e in self.edges if e.child == node)

    def to_dict(self) -> dict:
        return {"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges]}
