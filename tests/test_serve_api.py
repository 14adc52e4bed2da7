"""The grader API of `gradcli serve`, in-process through Starlette's TestClient, over a real pool of warm
children (one module-wide pool: its start costs TensorFlow's import once)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

import gradcli
from gradcli.serve import web
from gradcli.serve.pool import Pool
from gradcli.serve.requests import MAX_BATCH, MAX_BODY

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def pool():
    started = Pool(children=1)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def static(tmp_path_factory):
    directory = tmp_path_factory.mktemp("static")  # part B's page is not here yet: a stand-in index.html
    (directory / "index.html").write_text("<!doctype html><title>gradcli</title>")
    (directory / "app.js").write_text("console.log(1)")
    return directory


@pytest.fixture(scope="module")
def client(pool, static):
    with TestClient(web.app(pool, frozenset({"testserver"}), None, static)) as c:
        yield c


def post(client, endpoint, body, **headers):
    return client.post(f"/api/v1/{endpoint}", content=json.dumps(body), headers={**JSON, **headers})


# ---------------------------------------------------------------- validate


def test_validate_shows_the_reading_and_its_notes(client):
    r = post(client, "validate", {"expression": "1/2x"})
    assert r.status_code == 200
    body = r.json()
    assert body["expression"] == "1/2*x"
    assert body["variables"] == ["x"]
    assert body["mathml"].startswith('<math display="block">') and "<mfrac>" in body["mathml"]
    assert body["latex"] == r"\frac{1}{2} \cdot x"
    assert [n["kind"] for n in body["reading"]] == ["juxtaposition"] and "1/2x" in body["reading"][0]["message"]


def test_validate_reads_latex(client):
    body = post(client, "validate", {"expression": r"\frac{x^2}{2}", "latex": True}).json()
    assert body["expression"] == "x**2/2"


def test_invalid_expression_is_one_message_with_its_position(client):
    r = post(client, "validate", {"expression": "x +* 2"})
    assert r.status_code == 400
    assert set(r.json()) == {"message", "position"}
    assert r.json()["position"] == 3


# ---------------------------------------------------------------- grad and derivative


def test_grad_at_a_point_is_what_grad_json_prints(client):
    body = post(client, "grad", {"expression": "x**2+2*x-1", "at": {"x": 2}}).json()
    mathml = body.pop("mathml")
    assert body == gradcli.grad("x**2+2*x-1", at={"x": 2}).to_dict()
    assert "<mn>2</mn>" in mathml


def test_grad_without_a_point_is_the_derivative(client):
    body = post(client, "grad", {"expression": "x^3*sin(x)"}).json()
    body.pop("mathml")
    assert body == gradcli.derivative("x^3*sin(x)").to_dict()
    assert post(client, "derivative", {"expression": "x^3*sin(x)"}).json()["derivative"] == body["derivative"]


def test_steps_end_at_the_agreed_derivative(client):
    body = post(client, "grad", {"expression": "sin(3*x)", "steps": True}).json()
    assert body["status"] == "agree"
    assert body["steps"][-1]["text"].startswith("simplify: d/dx sin(3*x) = 3*cos(3*x)")
    assert all(set(s) == {"text", "latex"} for s in body["steps"])


def test_steps_of_a_second_derivative_are_refused(client):
    r = post(client, "grad", {"expression": "x**3", "order": 2, "steps": True})
    assert r.status_code == 400 and "first derivatives" in r.json()["message"]


def test_several_variables_give_the_gradient_as_one_math_element(client):
    body = post(client, "derivative", {"expression": "x*y", "wrt": ["x", "y"]}).json()
    assert body["mathml"].count("<math") == 1 and "<mo>,</mo>" in body["mathml"]


# ---------------------------------------------------------------- check, batch, timeouts


def test_check_names_the_mistake(client):
    body = post(client, "check", {"expression": "sin(3*x)", "answer": "cos(3*x)"}).json()
    expected = gradcli.check("sin(3*x)", "cos(3*x)").to_dict()
    assert {k: body[k] for k in expected if k != "counterexample"} == {
        k: v for k, v in expected.items() if k != "counterexample"
    }
    assert body["verdict"] == "wrong" and body["mistake"]["kind"] == "chain rule"
    assert body["gradable"] is True
    assert "your answer gives" in body["feedback"] and "check the chain rule on sin(3*x)" in body["feedback"]


def test_correct_answer_feedback_states_the_policy(client):
    body = post(client, "check", {"expression": "x**2", "answer": "2x"}).json()
    assert body["verdict"] == "correct" and body["gradable"] is True
    assert body["feedback"] == "Correct."


def test_check_refuses_what_the_command_line_refuses(client, cli):
    r = post(client, "check", {"expression": "x**2", "answer": "2*x+"})
    line = cli("check", "x**2", "--answer", "2*x+").stderr.strip()
    assert r.status_code == 400
    assert line == f"error: {r.json()['message']} (column {r.json()['position'] + 1})"


def test_took_too_long_is_undecided_and_not_gradable(client):
    r = post(client, "check", {"expression": "sin(x)*exp(x)", "answer": "cos(x)*exp(x)", "timeout": 0.05})
    assert r.status_code == 200
    body = r.json()
    assert (body["verdict"], body["gradable"], body["reason"]) == ("undecided", False, "took too long")


def test_grad_that_took_too_long_is_a_4xx_message(client):
    r = post(client, "grad", {"expression": "x**2", "at": {"x": 1}, "timeout": 0.05})
    assert r.status_code == 422 and r.json()["message"].startswith("took too long")


def test_a_bad_item_never_costs_the_good_ones(client):
    items = [{"expression": "x**2", "answer": "2*x"}, {"expression": "x", "answer": "+"}, 3, {"expression": "x"}]
    results = post(client, "check/batch", {"items": items}).json()["results"]
    assert [r["verdict"] for r in results] == ["correct", "invalid", "invalid", "invalid"]
    assert [r["gradable"] for r in results] == [True, False, False, False]
    assert results[3]["message"] == "item 3: give 'answer'"


def test_batch_size_is_bounded(client):
    r = post(client, "check/batch", {"items": [{"expression": "x", "answer": "1"}] * (MAX_BATCH + 1)})
    assert r.status_code == 413 and str(MAX_BATCH) in r.json()["message"]


# ---------------------------------------------------------------- plot


def test_plot_has_the_tangent_and_the_kink(client):
    body = post(client, "plot", {"expression": "abs(x)", "range": [-1, 1], "n": 5, "at": 0.5}).json()
    assert body["x"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert body["f"] == [1.0, 0.5, 0.0, 0.5, 1.0]
    assert body["tangent"] == {"at": 0.5, "f": 0.5, "slope": 1.0}
    assert [n["kind"] for n in body["notes"]] == ["kink"]


def test_plot_at_a_kink_has_no_tangent_and_says_why(client):
    body = post(client, "plot", {"expression": "abs(x)", "range": [-1, 1], "n": 5, "at": 0}).json()
    assert body["tangent"] is None and body["notes"][-1]["kind"] == "no_tangent"


def test_plot_marks_poles_as_null(client):
    body = post(client, "plot", {"expression": "1/x", "range": [-1, 1], "n": 3}).json()
    assert body["f"][1] is None


def test_plot_needs_one_variable(client):
    r = post(client, "plot", {"expression": "x*y", "range": [-1, 1]})
    assert r.status_code == 400 and "exactly one variable" in r.json()["message"]


# ---------------------------------------------------------------- the platforms' shapes


PRAIRIELEARN_RESULTS = {  # docs/externalGrading.md, "Grading results": score in [0, 1] when gradable
    "type": "object",
    "required": ["gradable", "message"],
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"},
        "format_errors": {"type": "array", "items": {"type": "string"}},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "points", "max_points"],
                "properties": {"points": {"type": "number"}, "max_points": {"type": "number"}},
            },
        },
    },
    "if": {"properties": {"gradable": {"const": True}}},
    "then": {"required": ["score"]},
}
XQUEUE_REPLY = {  # edX xqueue's passive-grader reply
    "type": "object",
    "required": ["correct", "score", "msg"],
    "additionalProperties": False,
    "properties": {"correct": {"type": "boolean"}, "score": {"type": "number"}, "msg": {"type": "string"}},
}


@pytest.mark.parametrize(("answer", "score"), [("2*x", 1.0), ("x", 0.0)])
def test_prairielearn_results_json(client, answer, score):
    import jsonschema

    data = {"params": {"expression": "x**2"}, "correct_answers": {}, "submitted_answers": {"answer": answer}}
    body = post(client, "adapters/prairielearn", data).json()
    jsonschema.validate(body, PRAIRIELEARN_RESULTS)
    assert (body["gradable"], body["score"], body["tests"][0]["points"]) == (True, score, int(score))


def test_prairielearn_invalid_answer_is_not_gradable(client):
    import jsonschema

    data = {"params": {"expression": "x**2"}, "submitted_answers": {"answer": "2*x+"}}
    body = post(client, "adapters/prairielearn", data).json()
    jsonschema.validate(body, PRAIRIELEARN_RESULTS)
    assert body["gradable"] is False and "score" not in body and body["format_errors"][0].startswith("in the answer")


def test_xqueue_reply(client):
    import jsonschema

    submission = {
        "xqueue_header": json.dumps({"submission_id": 72, "submission_key": "k"}),
        "xqueue_body": json.dumps(
            {
                "student_info": "{}",
                "student_response": "cos(3*x)",
                "grader_payload": json.dumps({"expression": "sin(3*x)"}),
            }
        ),
        "xqueue_files": "{}",
    }
    body = post(client, "adapters/xqueue", submission).json()
    jsonschema.validate(body, XQUEUE_REPLY)
    assert body["correct"] is False and body["score"] == 0.0 and "chain rule" in body["msg"]
    assert body["msg"].startswith("<p>")


def test_platform_request_without_the_problem_is_refused(client):
    r = post(client, "adapters/xqueue", {"xqueue_body": json.dumps({"student_response": "x"})})
    assert r.status_code == 400 and r.json()["message"] == "grader_payload must be a JSON object"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expression": "x", "at": {"x": 1}, "dtype": "float32"}, "grad does not take 'dtype'"),
        ({}, "give 'expression'"),
        ({"expression": 3}, "'expression' must be text"),
        ({"expression": "x", "order": 9}, "'order' must be a whole number from 1 to 6"),
        ({"expression": "x", "timeout": -1}, "'timeout' must be more than 0 seconds"),
    ],
)
def test_fields_are_checked(client, body, message):
    r = post(client, "grad", body)
    assert (r.status_code, r.json()) == (400, {"message": message, "position": None})


def test_body_size_is_bounded(client):
    r = post(client, "validate", {"expression": "x" * MAX_BODY})
    assert r.status_code == 413


def test_not_json(client):
    r = client.post("/api/v1/validate", content=b"{", headers=JSON)
    assert r.status_code == 400 and r.json()["message"].startswith("the request body is not JSON")


def test_content_type_must_be_json(client):
    r = client.post("/api/v1/validate", content=b'{"expression": "x"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_unknown_call(client):
    assert post(client, "integrate", {"expression": "x"}).status_code == 404


def test_dns_rebinding_host_is_refused(client):
    r = post(client, "validate", {"expression": "x"}, Host="evil.example:8765")
    assert r.status_code == 421 and "Host" in r.json()["message"]


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}]
)
def test_cross_origin_posts_are_refused(client, headers):
    assert post(client, "validate", {"expression": "x"}, **headers).status_code == 403


def test_same_origin_post_is_answered(client):
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert post(client, "validate", {"expression": "x"}, **headers).status_code == 200


def test_token(pool, static):
    with TestClient(web.app(pool, frozenset({"testserver"}), "s3cret-token", static)) as c:
        assert post(c, "validate", {"expression": "x"}).status_code == 401
        assert post(c, "validate", {"expression": "x"}, Authorization="Bearer wrong").status_code == 401
        assert post(c, "validate", {"expression": "x"}, Authorization="Bearer s3cret-token").status_code == 200
        assert c.get("/metrics").status_code == 401


def test_own_hosts():
    assert web.own_hosts("127.0.0.1", 8765) == frozenset({"127.0.0.1:8765", "localhost:8765", "[::1]:8765"})
    assert web.own_hosts("0.0.0.0", 8765) is None


# ---------------------------------------------------------------- operations and the page


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    text = client.get("/metrics").text
    names = ["requests_total", "verdicts_total", "timeouts_total", "internal_errors_total", "request_seconds"]
    for name in [*names, "ready_children"]:
        assert f"# TYPE gradcli_{name} " in text
    assert 'gradcli_verdicts_total{verdict="correct"}' in text


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../requests.py").status_code == 404
    assert client.get("/static/missing.js").status_code == 404


def test_get_on_the_api_is_refused(client):
    r = client.get("/api/v1/grad")
    assert r.status_code == 405 and "POST" in r.json()["message"]
