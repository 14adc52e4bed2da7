"""Issue 22 §2: grad --graph, the computation graph with every value and adjoint, each checked."""

import math
import shutil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcli
from gradcli.lang.parser import inline, parse_program
from gradcli.lang.tree import free_names
from gradcli.present.graph import dot, write_steps
from gradcli.witnesses.numeric import events_at
from tests.budget import examples

ISSUE = ("y = x*x; z = y*y + x", "--at", "x=3")


def node(graph, text):
    return next(n for n in graph["nodes"] if n["text"] == text)


def test_the_json_graph_has_values_adjoints_and_local_derivatives(cli):
    run = cli("grad", *ISSUE, "--graph", "tree", "--format", "json")
    assert run.code == 0, run.stderr
    graph = run.json["graph"]
    x, y, f = node(graph, "x"), node(graph, "x*x"), graph["nodes"][-1]
    assert (x["value"], x["adjoint"], x["exact"], x["kind"]) == (3.0, 109.0, 109.0, "input")
    assert x["checks"] == {"tape": True, "exact": True, "finite_difference": True}
    assert (y["step"], y["value"], y["adjoint"], y["checks"]) == ("y", 9.0, 18.0, None)
    assert (f["step"], f["value"], f["adjoint"]) == ("z", 84.0, 1.0)
    into_x = [e for e in graph["edges"] if e["child"] == x["id"]]
    assert sorted((e["local"], e["adjoint"]) for e in into_x) == [(1.0, 1.0), (3.0, 54.0), (3.0, 54.0)]


def test_a_node_used_more_than_once_shows_the_sum_of_its_paths(cli):
    run = cli("grad", *ISSUE, "--graph", "tree")
    assert run.code == 0
    assert "∂f/∂· 109 = 54 + 54 + 1 (sum of its 3 paths)" in run.stdout
    assert "∂f/∂· 18 = 9 + 9 (sum of its 2 paths)" in run.stdout
    assert "✓ tape.gradient ✓ sympy ✓ finite diff." in run.stdout


def test_graph_steps_prints_the_backward_pass_node_by_node(cli):
    run = cli("grad", *ISSUE, "--graph-steps")
    assert run.code == 0
    tail = run.stdout[run.stdout.index("backward pass") :].splitlines()
    assert tail[1:] == [
        "  1. z = y*y + x: ∂f/∂· = 1 (the seed: ∂f/∂f)",
        "  2. y*y: ∂f/∂· = 1·1 = 1",
        "  3. y = x*x: ∂f/∂· = 1·9 + 1·9 = 18",
        "  4. x: ∂f/∂· = 18·3 + 18·3 + 1·1 = 109",
    ]


def test_graph_dot_is_graphviz_text_alone(cli):
    run = cli("grad", *ISSUE, "--graph", "dot")
    assert run.code == 0
    assert run.stdout.startswith("digraph gradcli {") and run.stdout.endswith("}\n")
    assert (
        'n0 [label="{x|value 3|∂f/∂· 109 = 54 + 54 + 1 (sum of its 3 paths)|✓ tape.gradient ✓ sympy ✓ finite diff.}"];'
        in run.stdout
    )
    assert run.stdout.count(" -> ") == 6


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_graph_pictures_through_graphviz(cli, tmp_path, suffix):
    path = tmp_path / f"g.{suffix}"
    run = cli("grad", *ISSUE, "--graph", str(path))
    assert run.code == 0 and f"graph written to {path}" in run.stdout
    data = path.read_bytes()
    assert data.startswith(b"<?xml") if suffix == "svg" else data.startswith(b"\x89PNG")


def test_without_graphviz_a_picture_is_refused_plainly(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = tmp_path / "g.svg"
    run = cli("grad", *ISSUE, "--graph", str(path))
    assert (run.code, run.stdout) == (2, "")
    assert "Graphviz's dot is not on PATH" in run.stderr and "apt install graphviz" in run.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x*y", "--at", "x=1,y=2", "--at", "x=2,y=3", "--graph", "tree"], "--graph draws one point"),
        (["sum(x*x)", "--at", "x=[1,2]", "--graph", "tree"], "--graph draws scalar expressions"),
        (["x**3", "--at", "x=2", "--order", "2", "--graph", "tree"], "not with --order above 1"),
        (["x**3", "--at", "x=2", "--graph", "pdf"], "--graph takes tree, dot, or a file"),
        (["x**3", "--at", "x=2", "--graph", "dot", "--format", "json"], "--graph dot is drawn beside the table"),
        (["x**3", "--graph", "tree"], "--graph does not apply without --at"),
    ],
)
def test_graph_says_what_it_does_not_draw(cli, args, message):
    run = cli("grad", *args)
    assert (run.code, run.stdout) == (2, "")
    assert message in run.stderr and run.stderr.startswith("error: ")


def test_an_unwatched_constant_has_no_adjoint_and_a_watched_one_does():
    plain = gradcli.grad("x*c", at={"x": 2}, const={"c": 3}, graph=True).graph
    assert next(n for n in plain.nodes if n.text == "c").adjoint is None
    watched = gradcli.grad("x*c", at={"x": 2}, const={"c": 3}, watch=["c"], graph=True).graph
    c = next(n for n in watched.nodes if n.text == "c")
    assert c.adjoint == 2.0 and c.checks == {"tape": True, "exact": True, "finite_difference": True}


def test_a_kink_is_marked_at_its_node(cli):
    run = cli("grad", "abs(x) + x", "--at", "x=0", "--graph", "tree", "--format", "json")
    assert run.code == 3
    marked = node(run.json["graph"], "abs(x)")
    assert marked["notes"] and "abs" in marked["notes"][0]
    assert node(run.json["graph"], "x")["notes"] == []


def test_a_non_finite_node_is_marked(cli):
    run = cli("grad", "sqrt(x)", "--at", "x=0", "--graph", "tree")
    assert run.code == 3
    assert "not finite here" in run.stdout


def test_writers_take_the_library_graph(capsys):
    import io

    graph = gradcli.grad("sin(x)*x", at={"x": 1}, graph=True).graph
    out = io.StringIO()
    write_steps(graph, out)
    assert out.getvalue().splitlines()[0] == "backward pass (reverse mode), one node at a time:"
    assert dot(graph).count("->") == len(graph.edges) == 3


NAMES = ["x", "y"]
SMOOTH = ["sin", "cos", "tanh", "exp", "sigmoid", "atan"]


def expressions(names):
    leaves = st.one_of(st.sampled_from(names), st.sampled_from(["2", "0.5", "3", "pi"]))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.integers(2, 3)).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(st.sampled_from(SMOOTH), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]})/(2 + ({t[1]})**2)"),
            inner.map(lambda t: f"-({t})"),
        )

    return st.recursive(leaves, extend, max_leaves=5)


points = st.fixed_dictionaries({n: st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3)) for n in NAMES})


@settings(
    max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(expressions(NAMES), expressions(["u", *NAMES]), points)
def test_every_adjoint_is_the_tapes_and_sympys_and_the_leaves_are_the_gradient(first, second, point):
    program = f"u = {first}; f = {second}"
    # a step that is a constant (u = 2) is its own question: refused when nothing is left to vary, and its
    # node is named by its value; the property is about intermediates that depend on the sources
    assume(free_names(parse_program(first).steps[-1][1]))
    steps = inline(parse_program(program))
    assume("u" in free_names(parse_program(program).steps[1][1]))
    at = {n: point[n] for n in NAMES if n in free_names(steps["f"])}
    assume(at)
    assume(not events_at(steps["f"], {n: float(v) for n, v in at.items()}, frozenset(at)))
    result = gradcli.grad(program, at=at, wrt=[*at, "u"], graph=True)
    assume(all(math.isfinite(p.exact) and abs(p.exact) < 1e8 for p in result.results[0].gradient))
    graph = result.graph
    for n in graph.nodes:
        # the tape's adjoint of the node is sympy's, f cut at that node (where sympy's is a number: the
        # adjoint of the exponent 2 in u**2 at u = 0 is 0*log(0), nan to sympy, 0 to TensorFlow's pow)
        assert n.agree or not math.isfinite(n.exact), (program, at, n)
        uses = graph.into(n.id)
        if uses:  # tape.gradient(f, node) is the sum over the node's uses of tape.gradient(f, use)
            assert math.isclose(sum(e.adjoint for e in uses), n.adjoint, rel_tol=1e-9, abs_tol=1e-12)
    checked = {n.text if n.kind != "operation" else n.step: n.checks for n in graph.nodes if n.checks}
    assert set(checked) == {*at, "u"}  # every row of the gradient, the intermediate u too
    assert all(all(c.values()) for c in checked.values()), (program, at, checked)
