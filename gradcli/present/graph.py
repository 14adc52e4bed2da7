"""grad --graph: the computation graph as a rich tree, Graphviz dot text (and SVG or PNG through Graphviz's
`dot`), and --graph-steps, the backward pass one node at a time."""

from __future__ import annotations

import shutil
import subprocess
from typing import TextIO

from gradcli.errors import GradcliError
from gradcli.judge.explain import fmt
from gradcli.results.graph import Graph, GraphNode

PICTURES = (".svg", ".png")
DOT_SECONDS = 30
PIPE_WIDTH = 200  # a piped tree keeps each node on one line


def _adjoint(node: GraphNode) -> str:
    return "not watched" if node.adjoint is None else fmt(node.adjoint)


def _sum(graph: Graph, node: GraphNode) -> str:
    """A node used more than once: its adjoint as the explicit sum of its paths."""
    paths = graph.into(node.id)
    if len(paths) < 2 or node.adjoint is None:
        return ""
    return " = " + " + ".join(fmt(e.adjoint) for e in paths) + f" (sum of its {len(paths)} paths)"


def _marks(node: GraphNode) -> str:
    words = []
    if node.checks is not None:
        said = {"tape": "tape.gradient", "exact": "sympy", "finite_difference": "finite diff."}
        words.append(" ".join(f"{'✓' if ok else '✗'} {said[k]}" for k, ok in node.checks.items()))
    elif node.adjoint is not None:
        words.append("✓ sympy" if node.agree else f"✗ sympy says {fmt(node.exact)}")
    if not _finite(node.value) or (node.adjoint is not None and not _finite(node.adjoint)):
        words.append("not finite here")
    return "  [" + "; ".join(words) + "]" if words else ""


def _finite(value) -> bool:
    return value is not None and abs(float(value)) != float("inf") and float(value) == float(value)


def line(graph: Graph, node: GraphNode) -> str:
    step = f"{node.step} = " if node.step else ""
    head = node.label if node.kind == "operation" else node.kind
    return (
        f"{step}{node.text}  ({head})  value {fmt(node.value)}  ∂f/∂· {_adjoint(node)}{_sum(graph, node)}{_marks(node)}"
    )


def write_tree(graph: Graph, out: TextIO) -> None:
    """f at the root, each child under its parent with the edge's local derivative; a node met again is
    named, not redrawn."""
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    tty = getattr(out, "isatty", lambda: False)()
    console = Console(file=out, highlight=False, soft_wrap=False, width=None if tty else PIPE_WIDTH)
    root = graph.nodes[-1]
    tree = Tree(Text(line(graph, root)))
    seen = {root.id}
    kids = _children(graph)

    def grow(branch, node_id: int) -> None:
        for edge in kids[node_id]:
            child = graph.nodes[edge.child]
            local = f"∂{graph.nodes[node_id].label}/∂· = {fmt(edge.local)}, carries {fmt(edge.adjoint)}: "
            if child.id in seen and child.kind == "operation":
                branch.add(Text(f"{local}{(child.step or child.text).split(', ')[0]} (drawn above)"))
                continue
            seen.add(child.id)
            sub = branch.add(Text(local + line(graph, child)))
            for message in child.notes:
                sub.add(Text(f"note: {message}", style="yellow"))
            grow(sub, child.id)

    grow(tree, root.id)
    console.print(Text("computation graph (value, adjoint ∂f/∂node from the tape; each edge: its local derivative)"))
    console.print(tree)


def _children(graph: Graph) -> dict[int, list]:
    kids: dict[int, list] = {n.id: [] for n in graph.nodes}
    for edge in graph.edges:
        kids[edge.parent].append(edge)
    return kids


def dot(graph: Graph) -> str:
    """Graphviz dot text: leaves at the bottom, f at the top, edges labelled with local derivatives."""
    lines = ["digraph gradcli {", '  rankdir=BT; node [shape=record, fontname="Helvetica"];']
    for node in graph.nodes:
        step = f"{node.step} = " if node.step else ""
        head = _escape(f"{step}{node.text}")
        adjoint = _escape(f"∂f/∂· {_adjoint(node)}{_sum(graph, node)}")
        marks = _marks(node).strip().removeprefix("[").removesuffix("]")
        checked = f"|{_escape(marks)}" if node.checks is not None or marks.startswith(("✗", "not")) else ""
        fields = f"{{{head}|value {_escape(fmt(node.value))}|{adjoint}{checked}}}"
        colour = "" if node.agree and _finite(node.value) and not node.notes else ", color=red"
        if node.checks is not None and not all(node.checks.values()):
            colour = ", color=red"
        lines.append(f'  n{node.id} [label="{fields}"{colour}];')
    for edge in graph.edges:
        lines.append(f'  n{edge.child} -> n{edge.parent} [label="{_escape(fmt(edge.local))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for char in '\\"{}|<>':
        text = text.replace(char, "\\" + char)
    return text


def graphviz() -> str:
    """Graphviz's dot program, or an error that says plainly it is not there (checked before any work)."""
    program = shutil.which("dot")
    if program is None:
        raise GradcliError(
            "Graphviz's dot is not on PATH, so gradcli cannot draw SVG or PNG: install Graphviz "
            "(Debian: apt install graphviz), or use --graph dot for the dot text"
        )
    return program


def picture(graph: Graph, path: str) -> bytes:
    """SVG or PNG from Graphviz's dot, which must be on PATH."""
    program = graphviz()
    kind = path.rsplit(".", 1)[-1].lower()
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and arguments; the dot text is gradcli's own
            [program, f"-T{kind}"], input=dot(graph).encode(), capture_output=True, timeout=DOT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GradcliError(f"Graphviz's dot failed: {exc}") from None
    if done.returncode != 0:
        raise GradcliError(f"Graphviz's dot failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout


def write_steps(graph: Graph, out: TextIO) -> None:
    """The backward pass one node at a time, from f down: each node's adjoint from the uses above it."""
    out.write("backward pass (reverse mode), one node at a time:\n")
    for number, node in enumerate(reversed(graph.nodes), start=1):
        uses = graph.into(node.id)
        if not uses:
            how = "1 (the seed: ∂f/∂f)" if node.id == graph.nodes[-1].id else _adjoint(node)
        else:
            parts = [f"{fmt(graph.nodes[e.parent].adjoint)}·{fmt(e.local)}" for e in uses]
            how = " + ".join(parts) + f" = {_adjoint(node)}"
        step = f"{node.step} = " if node.step else ""
        out.write(f"{number:>3}. {step}{node.text}: ∂f/∂· = {how}\n")
