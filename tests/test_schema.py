"""Every command's JSON validates against its schema in docs/schema (the contract, checked, not only listed)."""

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCHEMAS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((DOCS / "schema").glob("*.json"))}
# Schemas refer to each other by file name ("common.json#/$defs/note"), as they sit side by side in docs/schema.
REGISTRY = Registry().with_resources((name, Resource.from_contents(doc)) for name, doc in SCHEMAS.items())


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[name], registry=REGISTRY)


def assert_valid(name: str, document) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(document)]
    assert not errors, f"{name}: {errors}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    Draft202012Validator.check_schema(SCHEMAS[name])


GRAD_RUNS = {
    "plain": (0, ["x**2 + 2*x - 1", "--at", "x=2"]),
    "several points and a tensor": (0, ["sum(x*x + 2*z)", "--at", "x=[[3,3,3],[3,3,3]]", "--at", "z=5"]),
    "constant watched": (0, ["x*c", "--at", "x=2", "--const", "c=3", "--watch", "c"]),
    "constant not watched": (0, ["x**2 + c", "--at", "x=3", "--const", "c=1"]),
    "clip value": (0, ["x**2 + c", "--at", "x=3", "--const", "c=1", "--clip-value", "-1:1"]),
    "clip norm": (0, ["x**2 * y", "--at", "x=3,y=2", "--clip-norm", "1"]),
    "clip global norm": (0, ["x**2 * y", "--at", "x=3,y=2", "--clip-global-norm", "1"]),
    "of, stop, persistent": (
        0,
        ["y = x*x; z = stop_gradient(y); w = z + x", "--at", "x=3", "--of", "y,w", "--persistent"],
    ),
    "of, own tapes": (0, ["y = x*x; w = y + x", "--at", "x=3", "--of", "y,w"]),
    "custom": (0, ["cube(x)", "--at", "x=4", "--custom", "cube(x) = x**3 : 2*x"]),
    "steps and latex": (0, ["(3*x + 2)**2", "--at", "x=1", "--steps", "--latex"]),
    "order 3": (0, ["sin(x)*y", "--at", "x=1,y=2", "--order", "3"]),
    "float32": (0, ["x**2", "--at", "x=3", "--dtype", "float32"]),
    "kink": (3, ["abs(x)", "--at", "x=0"]),
    "smooth kink": (0, ["abs(x)**2", "--at", "x=0"]),
    "relu kink, two points": (3, ["relu(x) * y", "--at", "x=0,y=1", "--at", "x=1,y=1"]),
    "singular": (3, ["sqrt(x)", "--at", "x=0"]),
    "pole": (3, ["tan(x)", "--at", "x=pi/2"]),
    "removable": (0, ["cos(x)/cos(x)", "--at", "x=pi/2"]),
    "kink in a constant": (0, ["x*abs(c)", "--at", "x=1", "--const", "c=0"]),
    "not finite": (3, ["1/x", "--at", "x=0"]),
    "disagreement": (1, ["(1 - cos(x))/x^2", "--at", "x=1e-3", "--dtype", "float32"]),
    "list target": (0, ["[x*y, sin(x)]", "--at", "x=1,y=2"]),
    "unconnected zero": (0, ["x**2", "--at", "x=1,z=2", "--unconnected", "zero"]),
    "int32": (0, ["x**2", "--at", "x=3", "--dtype", "int32"]),
    "frameworks at a kink": (3, ["abs(x)", "--at", "x=0", "--frameworks"]),
    "a watched constant alone": (0, ["x**2", "--const", "x=3", "--watch", "x"]),
    "an intermediate source": (0, ["y = x*x; z = y*y", "--at", "x=3", "--wrt", "x,y"]),
    "graph": (0, ["y = x*x; z = y*y + c", "--at", "x=3", "--const", "c=1", "--graph", "tree"]),
}


@pytest.mark.parametrize("case", sorted(GRAD_RUNS))
def test_grad_json_matches_its_schema(cli, case):
    code, args = GRAD_RUNS[case]
    run = cli("grad", *args, "--format", "json")
    assert run.code == code, run.stderr
    assert_valid("grad.json", run.json)


def test_the_grad_runs_cover_every_optional_key_and_several_note_kinds(cli):
    keys, kinds = set(), set()
    for _code, args in GRAD_RUNS.values():
        document = cli("grad", *args, "--format", "json").json
        keys |= set(document) | {k for r in document["results"] for p in r["gradient"].values() for k in p}
        keys |= {k for r in document["results"] for k in r}
        kinds |= {n["kind"] for r in document["results"] for n in r["notes"]}
    result = SCHEMAS["grad.json"]["$defs"]
    assert keys == set(result["result"]["properties"]) | set(result["point"]["properties"]) | set(
        result["partial"]["properties"]
    )
    assert {"kink", "smooth_kink", "singular", "pole", "removable", "custom_rule", "odd_witness"} <= kinds


MATRIX_RUNS = [
    ("jacobian", 0, ["[x*y, x + y, sin(x)]", "--at", "x=1,y=2"]),
    ("jacobian", 0, ["[x*y, c*x]", "--at", "x=1,y=2", "--at", "x=0,y=1", "--const", "c=2"]),
    ("jacobian", 0, ["x*x", "--at", "x=[1,2,3]"]),
    ("jacobian", 3, ["[abs(x), y]", "--at", "x=0,y=1"]),
    ("jacobian", 3, ["[1/cos(x), y]", "--at", "x=pi/2,y=1"]),
    ("hessian", 0, ["x**2*y + sin(x*y)", "--at", "x=1,y=2"]),
    ("hessian", 0, ["x**3", "--at", "x=2", "--dtype", "float32"]),
    ("hessian", 3, ["abs(x)*y", "--at", "x=0,y=1"]),
]


@pytest.mark.parametrize(("command", "code", "args"), MATRIX_RUNS)
def test_jacobian_and_hessian_json_match_their_schemas(cli, command, code, args):
    run = cli(command, *args, "--format", "json")
    assert run.code == code, run.stderr
    assert_valid(f"{command}.json", run.json)
    other = "hessian.json" if command == "jacobian" else "jacobian.json"
    assert not validator(other).is_valid(run.json)


CHECK_RUNS = [
    (0, ["x**2 + 2*x", "--answer", "2*(x+1)"]),
    (1, ["x**2", "--answer", "2*x + 1"]),
    (0, ["x*y + y**2", "--answer", "[y, x + 2*y]"]),
    (0, ["x**3 + 2*x", "--answer", "14", "--at", "x=2"]),
    (1, ["x**3 + 2*x", "--answer", "13", "--at", "x=2"]),
    (1, ["sqrt(x**2)", "--answer", "1"]),
    (0, ["exp(2*x)", "--answer", "2*exp(2*x)", "--steps", "--latex"]),
]


@pytest.mark.parametrize(("code", "args"), CHECK_RUNS)
def test_check_json_matches_its_schema(cli, code, args):
    run = cli("check", *args, "--format", "json")
    assert run.code == code, run.stderr
    assert_valid("check.json", run.json)


def test_check_file_json_matches_its_schema(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,wrt,answer,at\nx**2 + 2*x,,2*(x+1),\nx**3,,14,x=2\nsqr(x),,1,\nx*y,y,x,\n")
    run = cli("check", "--file", str(answers), "--format", "json")
    assert run.code == 2
    assert [r.get("verdict", "invalid") for r in run.json["rows"]] == ["correct", "wrong", "invalid", "correct"]
    assert_valid("grades.json", run.json)
    answers.write_text('student,expression,answer\nann,x**2,2*x\nbob,"x**3,3*x**2\ncid,x**2,\n')
    lines = [json.loads(line) for line in cli("check", "--file", str(answers), "--format", "jsonl").stdout.splitlines()]
    assert [row.get("columns") for row in lines[:-1]] == [{"student": "ann"}, {"student": "bob"}, {"student": "cid"}]
    for row in lines[:-1]:
        assert_valid("sheet-row.json", row)
    assert_valid("sheet-summary.json", lines[-1])
    answers.write_text("student,expression,answer\nann,x**2,2*x\nann,x**3,\n")
    assert_valid("totals.json", cli("check", "--file", str(answers), "--totals", "--format", "json").json)


DESCEND_RUNS = [
    ["(w*2 - 6)**2", "--from", "w=0.5", "--steps", "5", "--clip-value", "-1:1"],
    ["(w - 3)**2 + (b + 1)**2", "--from", "w=0,b=0", "--lr", "0.01,0.1", "--steps", "4", "--optimizer", "adam"],
    ["(w - 3)**2", "--from", "w=0", "--steps", "500", "--tol", "1e-6", "--optimizer", "momentum"],
    ["(w - 3)**2", "--from", "w=0", "--lr", "1.5", "--steps", "200", "--clip-global-norm", "10"],
]


@pytest.mark.parametrize("args", DESCEND_RUNS)
def test_descend_json_matches_its_schema(cli, args):
    run = cli("descend", *args, "--format", "json")
    assert run.code == 0, run.stderr
    assert_valid("descend.json", run.json)


def test_descend_on_data_matches_its_schema(cli, tmp_path):
    data = tmp_path / "points.csv"
    data.write_text(cli("data", "line", "-n", "20").stdout)
    args = ["(w*x + b - y)**2", "--from", "w=0,b=0", "--data", str(data), "--epochs", "2", "--batch-size", "5"]
    run = cli("descend", *args, "--format", "json")
    assert run.code == 0, run.stderr
    assert {r["stopped"] for r in run.json["runs"]} == {"steps"}
    assert_valid("descend.json", run.json)


PRODUCT_RUNS = [
    ("jvp", 0, ["x**2*y", "--at", "x=3,y=2", "--tangent", "x=1,y=0"]),
    ("jvp", 0, ["[x*y, x + y]", "--at", "x=1,y=2", "--at", "x=2,y=3", "--tangent", "x=1"]),
    ("jvp", 3, ["abs(x) + y", "--at", "x=0,y=1", "--tangent", "x=1"]),
    ("vjp", 0, ["[x*y, x + y]", "--at", "x=1,y=2", "--upstream", "[1, 2]"]),
    ("vjp", 0, ["x*x", "--at", "x=[1,2]", "--upstream", "[1,1]", "--dtype", "float32"]),
]


@pytest.mark.parametrize(("command", "code", "args"), PRODUCT_RUNS)
def test_jvp_and_vjp_json_match_their_schemas(cli, command, code, args):
    run = cli(command, *args, "--format", "json")
    assert run.code == code, run.stderr
    document = run.json
    assert_valid(f"{command}.json", document)
    other = "vjp.json" if command == "jvp" else "jvp.json"
    assert not validator(other).is_valid(document)
    document["undocumented"] = 1
    assert not validator(f"{command}.json").is_valid(document)


def test_every_batch_line_matches_the_batch_line_schema(cli):
    problems = "\n".join(
        [
            '{"command": "grad", "expression": "x**2", "at": {"x": 3}}',
            'grad "abs(x)" --at x=0',
            'jacobian "[x*y, x]" --at x=1,y=2',
            'hessian "x**2*y" --at x=1,y=2',
            'check "x**2" --answer "2*x"',
            'descend "(w-3)**2" --from w=0 --steps 2',
            'grad "sqr(x)" --at x=1',
            "not a command",
        ]
    )
    run = cli("batch", "-", stdin=problems)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["line"] for line in lines] == list(range(1, 9))
    assert [("error" in line) for line in lines] == [False] * 6 + [True] * 2
    for line in lines:
        assert_valid("batch-line.json", line)


def test_every_points_row_matches_the_points_row_schema(cli, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x,y\n1,2\n0,1\n-1,nope\n3,0\n")
    run = cli("grad", "abs(x)*y + 1/y", "--points", str(points), "--format", "jsonl")
    assert run.code == 2 and run.stderr.startswith("error: ")
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["agree", "not differentiable", "not differentiable"]
    for row in rows:
        assert_valid("points-row.json", row)


def test_a_key_the_schema_does_not_know_fails_validation(cli):
    document = cli("grad", "x**2", "--at", "x=3", "--format", "json").json
    assert_valid("grad.json", document)
    for where in (document, document["results"][0], document["results"][0]["gradient"]["x"]):
        where["undocumented"] = 1
        assert not validator("grad.json").is_valid(document)
        del where["undocumented"]
    document["results"][0]["notes"].append({"kind": "new_kind", "severity": "info", "variable": None, "message": "m"})
    assert not validator("grad.json").is_valid(document)


def _properties(schema, found=None):
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                found |= set(value)
            _properties(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _properties(item, found)
    return found


def test_docs_json_md_names_every_schema_and_every_key():
    text = (DOCS / "json.md").read_text(encoding="utf-8")
    for name in SCHEMAS:
        assert f"(schema/{name})" in text, f"docs/json.md does not link schema/{name}"
    for key in _properties(list(SCHEMAS.values())):
        assert re.search(rf"`[^`]*\b{re.escape(key)}\b[^`]*`", text), f"docs/json.md does not explain {key!r}"


def test_batch_lines_and_points_rows_are_closed_too(cli):
    line = json.loads(cli("batch", "-", stdin='grad "x**2" --at x=3').stdout)
    row = json.loads(cli("grad", "x**2", "--points", "-", "--format", "jsonl", stdin="x\n3\n").stdout)
    for name, document, inner in (
        ("batch-line.json", line, line["results"][0]["gradient"]["x"]),
        ("points-row.json", row, row["gradient"]["x"]),
    ):
        assert_valid(name, document)
        for where in (document, inner):
            where["undocumented"] = 1
            assert not validator(name).is_valid(document), name
            del where["undocumented"]


def test_the_schema_and_docs_list_exactly_the_judges_note_kinds():
    from gradcli.judge.verdict import KINDS, SEVERITIES

    note = SCHEMAS["common.json"]["$defs"]["note"]["properties"]
    assert note["severity"]["enum"] == list(SEVERITIES)
    assert set(KINDS.values()) <= set(SEVERITIES)

    common = SCHEMAS["common.json"]
    enums = []

    def walk(node):
        if isinstance(node, dict):
            if "odd_witness" in node.get("enum", []):
                enums.append(node["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(common)
    assert enums and set(enums[0]) == set(KINDS)
    table = (DOCS / "json.md").read_text()
    for kind, severity in KINDS.items():
        assert f"| `{kind}` | {severity} |" in table, kind


@pytest.mark.parametrize(
    ("code", "args"),
    [
        (0, ["grad", "x^3*sin(x)"]),
        (0, ["grad", "x^2*y", "--steps", "--latex"]),
        (0, ["grad", "sin(x)", "--order", "3"]),
        (0, ["hessian", "x^2*y"]),
        (0, ["jacobian", "[x*y, x + y]"]),
        (3, ["grad", "sqrt(-1 - x^2)"]),
    ],
)
def test_the_derivative_without_a_point_matches_its_schema(cli, code, args):
    run = cli(*args, "--format", "json")
    assert run.code == code, run.stderr
    assert_valid("derivative.json", run.json)
