"""grad --graph: the expression's computation graph at the point, each number checked.

Nodes come from the program's steps as typed: a name used twice (an input, or a step) is one node with
two edges, which is where backpropagation sums its paths. The tape records every node and every use
of it (witnesses.tape.record_graph) and is asked for each adjoint; sympy's adjoint of each node is
f with that node cut out as a symbol, differentiated by it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, PointError
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, Custom, Name, Neg, Node, Num, children, rebuild
from gradcli.results.gradient import GradResult
from gradcli.results.graph import Graph, GraphEdge, GraphNode

MAX_NODES = 80  # a picture, not a dump: past this a graph is unreadable in a terminal


@dataclass(frozen=True)
class Built:
    """One node of the graph before it is run: its tree node and its children's indices."""

    node: Node
    kids: tuple[int, ...]
    kind: str
    step: str | None = None


def build(steps, constants) -> list[Built]:
    """Nodes in topological order (children first), names shared: one node per input, constant and step."""
    nodes: list[Built] = []
    named: dict[str, int] = {}

    def add(tree: Node) -> int:
        if isinstance(tree, Name) and tree.id in named:
            return named[tree.id]
        kids = tuple(add(child) for child in children(tree))
        kind = "operation" if kids else "number" if not isinstance(tree, Name) else _leaf_kind(tree.id, constants)
        nodes.append(Built(tree, kids, kind))
        if isinstance(tree, Name):
            named[tree.id] = len(nodes) - 1
        if len(nodes) > MAX_NODES:
            raise LimitError(f"the graph has more than {MAX_NODES} nodes; --graph draws smaller expressions")
        return len(nodes) - 1

    for name, tree in steps:
        root = add(tree)
        if isinstance(tree, Name):  # y = x: a tensor of its own (tf.identity), as the tape records a step
            nodes.append(Built(tree, (root,), "operation"))
            root = len(nodes) - 1
        nodes[root] = replace(nodes[root], step=name if nodes[root].step is None else f"{nodes[root].step}, {name}")
        named[name] = root
    return nodes


def _leaf_kind(name: str, constants) -> str:
    from gradcli.lang.tree import CONSTANTS

    return "number" if name in CONSTANTS else "constant" if name in constants else "input"


def label(node: Node) -> str:
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Neg):
        return "neg"
    if isinstance(node, BinOp):
        return node.op
    if isinstance(node, Custom):
        return node.name
    return node.func if isinstance(node, Call) else "[...]"


def tree_of(nodes: list[Built], index: int, cut: int | None = None, named: bool = False) -> Node:
    """Node `index` as one tree of the leaves; with `cut`, that node is a symbol of its own; with `named`,
    the steps below it stay names, as typed."""
    if index == cut:
        return Name(symbol(index))
    built = nodes[index]
    if not built.kids:
        return built.node
    if isinstance(built.node, Name):  # an alias step is its one child
        return tree_of(nodes, built.kids[0], cut, named)
    parts = iter(
        Name(nodes[k].step.split(", ")[0])
        if named and nodes[k].step and nodes[k].kids
        else tree_of(nodes, k, cut, named)
        for k in built.kids
    )
    return rebuild(built.node, lambda _child: next(parts))


def symbol(index: int) -> str:
    return f"⟨{index}⟩"  # not a name a user can type, so it never meets one of theirs


def check(problem) -> None:
    """--graph draws one point of a scalar expression on the plain tape."""
    if len(problem.points) != 1:
        raise PointError("--graph draws one point: give one --at")
    if any(problem.shapes.values()):
        raise PointError("--graph draws scalar expressions: tensors have a Jacobian on every edge")
    unsupported = {"--order above 1": problem.order > 1, "clipping": problem.clip is not None,
                   "--custom": bool(problem.customs), "--dtype int32": problem.dtype == "int32",
                   "several targets": problem.summed is not None or len(problem.targets) > 1}  # fmt: skip
    for what, used in unsupported.items():
        if used:
            raise PointError(f"--graph draws the plain tape of one target, not with {what}")


def graph(problem, result: GradResult) -> Graph:
    """The graph at the problem's one point, checked against the rows of `result` (its gradient)."""
    from gradcli.witnesses.tape import record_graph

    steps = problem.steps or (("f", problem.tree),)
    nodes = build(steps, problem.constants)
    env = {
        name: np.asarray(v.as_list(), dtype=np.float64)
        for name, v in {**problem.points[0], **problem.constants}.items()
    }
    variables = frozenset(problem.variables)
    constants = problem.watched - variables - set(problem.intermediates)
    values, edges = record_graph([(b.node, b.kids) for b in nodes], env, variables, constants, problem.dtype)
    exact = _exact_adjoints(problem, nodes)
    tol = tolerance.tape(problem.dtype)
    scale = abs(result.results[0].value) if np.isfinite(result.results[0].value) else 1.0
    notes = _node_notes(nodes, result)
    rows = {p.name: p for p in result.results[0].gradient}
    out = []
    for i, (built, (value, adjoint)) in enumerate(zip(nodes, values, strict=True)):
        agree = adjoint is None or bool(tolerance.close_each(adjoint, exact[i], tol, scale))
        leaf = isinstance(built.node, Name) and not built.kids
        name = built.node.id if leaf else built.step  # a step asked for with --wrt
        checks = _checks(rows.get(name), adjoint, result, scale) if name in rows else None
        head = label(built.node) if leaf or not isinstance(built.node, Name) else "="  # y = x: an identity
        text = to_text(tree_of(nodes, i, named=True))
        out.append(GraphNode(i, head, text, built.kind, value, adjoint, exact[i], agree, built.step, checks,
                             notes.get(i, ())))  # fmt: skip
    listed = [GraphEdge(parent, child, local, adjoint)
              for (parent, child), uses in sorted(edges.items()) for local, adjoint in uses]  # fmt: skip
    return Graph(tuple(out), tuple(listed))


def _checks(row, adjoint, result: GradResult, scale: float) -> dict:
    """A leaf's (or an intermediate's) adjoint against its gradient row: the tape's own gradient call,
    sympy and finite differences."""
    if adjoint is None:
        return {"tape": row.tape is None, "exact": False, "finite_difference": False}
    close = tolerance.close_each
    return {
        "tape": row.tape is not None and bool(close(adjoint, row.tape, result.tape_tolerance, scale)),
        "exact": bool(close(adjoint, row.exact, result.tape_tolerance, scale)),
        "finite_difference": bool(close(adjoint, row.finite_difference, result.fd_tolerance, scale)),
    }


def _exact_adjoints(problem, nodes: list[Built]) -> list[float]:
    """sympy's df/dnode for every node: f with the node cut out as a symbol, at the node's own exact value."""
    from gradcli.solve.intermediate import exact_partial

    last = len(nodes) - 1
    point = {**problem.points[0], **problem.constants}
    out = []
    for i in range(len(nodes)):
        if i == last:
            out.append(1.0)
            continue
        out.append(exact_partial(tree_of(nodes, last, cut=i), symbol(i), tree_of(nodes, i), problem, point))
    return out


def _node_notes(nodes: list[Built], result: GradResult) -> dict[int, tuple[str, ...]]:
    """The judge's notes that name an event at a node (a kink, a pole, a singular point); non-finite values
    are marked where they arise by the renderer, from the numbers."""
    found: dict[int, list[str]] = {}
    for note in result.results[0].notes:
        event = note.data.get("event")
        if event is None:
            continue
        for i, built in enumerate(nodes):
            if _at(built.node, event):
                found.setdefault(i, []).append(note.message)
    return {i: tuple(messages) for i, messages in found.items()}


def _at(node: Node, event) -> bool:
    if isinstance(node, Call) and node.func == event.func:
        return to_text(node.args[0]) == event.arg
    if isinstance(node, BinOp) and node.op == "/" and event.func == "division":
        return to_text(node.right) == event.arg
    if isinstance(node, BinOp) and node.op == "**" and event.func == "power":
        return to_text(node.left) == event.arg
    return False
