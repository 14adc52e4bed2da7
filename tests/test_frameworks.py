"""gradcli grad --frameworks: TensorFlow beside JAX (and PyTorch where installed) at the kinks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradcli.devtools.frameworks_doc import conventions_markdown
from gradcli.judge.explain import CLIP_HALF, CLIP_ONE, FRAMEWORK_CONVENTIONS, TIE_FIRST, TIE_HALF
from gradcli.witnesses.frameworks import installed

ROOT = Path(__file__).resolve().parents[1]
needs_jax = pytest.mark.skipif("jax" not in installed(), reason="JAX is not installed (pip install -e '.[dev]')")
needs_torch = pytest.mark.skipif(
    "torch" not in installed(), reason="PyTorch is not installed here: its column appears only where the user has it"
)


def frameworks_of(run):
    return [{name: p["frameworks"] for name, p in r["gradient"].items()} for r in run.json["results"]]


@needs_jax
def test_abs_at_zero_exact_json(cli):
    run = cli("grad", "abs(x)", "--at", "x=0", "--frameworks", "--format", "json")
    assert (run.code, run.stderr) == (3, "")
    doc = run.json
    assert doc["frameworks"] == ["tensorflow", *installed()]
    (result,) = doc["results"]
    assert result["gradient"]["x"]["frameworks"]["tensorflow"] == 0.0
    assert result["gradient"]["x"]["frameworks"]["jax"] == 1.0
    assert [n["kind"] for n in result["notes"]] == ["kink", "frameworks_differ"]
    note = result["notes"][1]
    assert (note["severity"], note["variable"]) == ("info", "x")
    assert note["message"].startswith(
        "d/dx: the frameworks differ here: TensorFlow 0 (sign(0) = 0), JAX 1 (slope 1 at 0, the right side's)"
    )
    assert "the slope is -1 from the left and 1 from the right, so the derivative does not exist" in note["message"]


@needs_jax
@pytest.mark.parametrize(
    ("expression", "at", "tensorflow", "jax"),
    [
        ("max(x, y)", "x=1,y=1", {"x": 1.0, "y": 0.0}, {"x": 0.5, "y": 0.5}),
        ("min(x, y)", "x=2,y=2", {"x": 1.0, "y": 0.0}, {"x": 0.5, "y": 0.5}),
        ("min(max(x, 0), 1)", "x=1", {"x": 1.0}, {"x": 0.5}),
    ],
)
def test_ties_name_each_frameworks_convention(cli, expression, at, tensorflow, jax):
    run = cli("grad", expression, "--at", at, "--frameworks", "--format", "json")
    assert run.code == 3
    (values,) = frameworks_of(run)
    assert {n: v["tensorflow"] for n, v in values.items()} == tensorflow
    assert {n: v["jax"] for n, v in values.items()} == jax
    differ = [n for n in run.json["results"][0]["notes"] if n["kind"] == "frameworks_differ"]
    assert {n["variable"] for n in differ} == set(tensorflow)
    for note in differ:
        assert TIE_FIRST in note["message"] and TIE_HALF in note["message"]
        assert "does not exist" in note["message"]


@needs_jax
@pytest.mark.parametrize(
    ("expression", "at"),
    [("relu(x)", "x=0"), ("x*relu(x)", "x=0"), ("sqrt(x)", "x=0"), ("x**3 + 2*x", "x=2"), ("sin(x)*y", "x=1,y=2")],
)
def test_where_frameworks_agree_there_is_no_note(cli, expression, at):
    run = cli("grad", expression, "--at", at, "--frameworks", "--format", "json")
    assert not [n for r in run.json["results"] for n in r["notes"] if n["kind"] == "frameworks_differ"]
    for values in frameworks_of(run):
        for by_framework in values.values():
            assert len(set(map(json.dumps, by_framework.values()))) == 1


@needs_jax
def test_frameworks_on_tensors_lists_and_float32(cli):
    run = cli("grad", "sum(x*x) + y", "--at", "x=[1,2],y=3", "--frameworks", "--format", "json")
    assert frameworks_of(run)[0]["x"]["jax"] == [2.0, 4.0]
    listed = cli("grad", "[2*x, x**2]", "--at", "x=3", "--frameworks", "--format", "json")
    assert [v["x"]["jax"] for v in frameworks_of(listed)] == [8.0, 2.0, 6.0]
    single = cli("grad", "x**2", "--at", "x=0.1", "--frameworks", "--dtype", "float32", "--format", "json")
    assert single.code == 0
    assert frameworks_of(single)[0]["x"]["jax"] == pytest.approx(0.2, rel=1e-6)


@needs_jax
def test_the_table_has_a_column_per_framework(cli):
    run = cli("grad", "abs(x)", "--at", "x=0", "--frameworks")
    header = next(line for line in run.stdout.splitlines() if "GradientTape" in line)
    assert [c.strip() for c in header.split("┃")[4:6]] == ["GradientTape", "JAX"]
    assert ("PyTorch" in header) == ("torch" in installed())


def test_frameworks_refuse_what_they_do_not_compare(cli):
    run = cli("grad", "x**3", "--at", "x=1", "--order", "2", "--frameworks")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        "error: --frameworks compares first-order gradients of plain expressions, not with --order above 1\n"
    )


@needs_torch
def test_pytorch_column_where_installed(cli):
    run = cli("grad", "max(x, y)", "--at", "x=1,y=1", "--frameworks", "--format", "json")
    assert frameworks_of(run)[0]["x"]["torch"] == 0.5


@needs_jax
def test_conventions_named_in_notes_are_the_ones_measured():
    from gradcli import grad

    for framework in ("tensorflow", *installed()):
        said = FRAMEWORK_CONVENTIONS[framework]
        relu = grad("relu(x)", at={"x": 0}, frameworks=True).results[0].gradient[0].frameworks[framework]
        assert (said["relu"], relu) == ("slope 0 at 0", 0.0)
        slope = grad("abs(x)", at={"x": 0}, frameworks=True).results[0].gradient[0].frameworks[framework]
        assert said["abs"] == {0.0: "sign(0) = 0", 1.0: "slope 1 at 0, the right side's"}[slope]
        for func in ("max", "min"):
            ties = [p.frameworks[framework] for p in grad(f"{func}(x, y)", at={"x": 1, "y": 1}, frameworks=True)
                    .results[0].gradient]  # fmt: skip
            assert said[func] == {(1.0, 0.0): TIE_FIRST, (0.5, 0.5): TIE_HALF}[tuple(ties)]
        bound = grad("clip(x, 0, 1)", at={"x": 1}, frameworks=True).results[0].gradient[0].frameworks[framework]
        assert said["clip"] == {1.0: CLIP_ONE, 0.5: CLIP_HALF}[bound]


def test_docs_frameworks_md_is_fresh():
    text = (ROOT / "docs" / "frameworks.md").read_text()
    from gradcli.witnesses.frameworks import LABELS

    measured = next(line for line in text.splitlines() if line.startswith("Measured with: "))
    here = ", ".join(LABELS[f] for f in ("tensorflow", *installed()))
    if not measured.startswith(f"Measured with: {here}") or measured[len(f"Measured with: {here}")] not in " .":
        pytest.skip(f"docs/frameworks.md was measured with other frameworks ({measured}); here: {here}")
    assert conventions_markdown() == text, "docs/frameworks.md is stale: run make docs"


def _modules_after(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_jax
def test_importing_tensorflow_does_not_pull_in_jax_which_still_imports_later():
    code = (
        "import sys, json\n"
        "from gradcli.witnesses.tape import tensorflow\n"
        "tensorflow()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'torch'))\n"
        "import jax\n"
        "print(json.dumps(loaded))\n"
    )
    assert _modules_after(code) == []


def test_grad_without_frameworks_never_imports_jax_or_torch():
    code = (
        "import sys, json, io\n"
        "from gradcli.app.main import main, Environment\n"
        "assert main(['grad', 'abs(x)', '--at', 'x=1'], Environment(stdout=io.StringIO())) == 0\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'torch'))))\n"
    )
    assert _modules_after(code) == []


@needs_jax
def test_a_mask_meeting_an_infinite_slope_is_nan_in_tensorflow_and_named(cli):
    run = cli("grad", "sqrt(relu(x))", "--at", "x=0", "--frameworks", "--format", "json")
    assert run.code == 3
    (values,) = frameworks_of(run)
    assert (values["x"]["tensorflow"], values["x"]["jax"]) == ("nan", 0.0)
    (note,) = [n for n in run.json["results"][0]["notes"] if n["kind"] == "frameworks_differ"]
    assert "TensorFlow nan (0·inf in its backward pass" in note["message"]
    assert "does not exist" in note["message"]


@pytest.mark.parametrize(
    ("values", "differ"),
    [
        ({"tensorflow": 1.0, "jax": 1.0 + 1e-12}, False),
        ({"tensorflow": float("inf"), "jax": float("inf")}, False),
        ({"tensorflow": float("nan"), "jax": float("nan")}, False),
        ({"tensorflow": None, "jax": 0.0}, False),  # a framework's None is not compared
        ({"tensorflow": [1.0, 2.0], "jax": [1.0, 2.0]}, False),
        ({"tensorflow": 0.0, "jax": 1.0}, True),
        ({"tensorflow": float("nan"), "jax": 0.0}, True),
        ({"tensorflow": [1.0, 2.0], "jax": [1.0, 2.5]}, True),
    ],
)
def test_the_judge_decides_where_frameworks_differ(values, differ):
    from gradcli.judge import verdict as judge

    notes = judge.frameworks("x", values, 0.0, [], "float64")
    assert [n.kind for n in notes] == (["frameworks_differ"] if differ else [])
    assert all(n.severity == judge.INFO and n.data["event"] is None for n in notes)


@needs_jax
def test_every_function_of_the_language_has_a_jax_twin_that_agrees_with_the_tape(cli):
    from gradcli.lang.parser import FUNCTIONS
    from gradcli.witnesses.frameworks import JaxBackend

    assert set(FUNCTIONS) - {"log"} <= set(JaxBackend("float64").funcs)  # log (two arguments) is in call
    inside = {"asec": "2", "acsc": "2", "acosh": "2", "acot": "2", "asin": "0.3", "acos": "0.3", "atanh": "0.3"}
    vector = ["--at", "x=[0.1,0.5,-0.3]", "--const", "w=[1,2,3]"]
    calls = {  # a function that does not take x alone, and its point
        "max": ("max(x, 2*x)", []), "min": ("min(x, 2*x)", []), "clip": ("clip(x, 0, 1)", []),
        "where": ("where(x > 0, x**2, sin(x))", []), "logsumexp": ("logsumexp(x)", vector[:2]),
        "softmax": ("sum(w*softmax(x))", vector), "log_softmax": ("sum(w*log_softmax(x))", vector),
    }  # fmt: skip
    for name, arity in FUNCTIONS.items():
        if name in ("sum", "mean", "stop_gradient") or name == "sign":
            continue
        text, point = calls.get(name, (f"{name}({', '.join(['x'] * arity[0])})", []))
        point = point or ["--at", f"x={inside.get(name, '0.7')}"]
        run = cli("grad", text, *point, "--frameworks", "--format", "json")
        gradient = run.json["results"][0]["gradient"]["x"]["frameworks"]
        assert gradient["jax"] == pytest.approx(gradient["tensorflow"], rel=1e-9), name


@needs_jax
def test_csv_has_a_column_per_framework(cli):
    run = cli("grad", "max(x, y)", "--at", "x=1,y=1", "--at", "x=2,y=1", "--frameworks", "--format", "csv")
    columns = ["x", "y", "df/dx", "df/dy"] + [f"df/d{n} ({f})" for f in installed() for n in "xy"] + ["status"]
    lines = run.stdout.splitlines()
    assert lines[0].split(",") == columns
    assert lines[1].split(",")[:6] == ["1", "1", "1", "0", "0.5", "0.5"]
    assert lines[2].split(",")[:6] == ["2", "1", "1", "0", "1", "0"]
