"""The tape's controls: clipping, stop_gradient, custom gradients, persistent tapes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli
from gradcli.witnesses import clip as clipping
from gradcli.witnesses.clip import Clip, parse_clip
from tests.budget import examples

# ---------------------------------------------------------------- clipping (seed 000 "Gradient Clipping")


def test_clip_value_seed_example(cli):
    run = cli("grad", "100*x - 200*y", "--at", "x=0,y=0", "--clip-value", "-10:10", "--format", "json")
    gradient = run.json["results"][0]["gradient"]
    assert run.code == 0
    assert run.json["clip"] == {"method": "value", "min": -10.0, "max": 10.0}
    assert (gradient["x"]["tape"], gradient["y"]["tape"]) == (10.0, -10.0)
    assert (gradient["x"]["unclipped"], gradient["y"]["unclipped"]) == (100.0, -200.0)
    assert (gradient["x"]["exact"], gradient["x"]["exact_unclipped"]) == (10.0, 100.0)


def test_clip_norm_per_variable(cli):
    run = cli("grad", "100*x - 200*y", "--at", "x=0,y=0", "--clip-norm", "5", "--format", "plain")
    assert run.stdout == "5 -5\n"


def test_clip_norm_of_a_tensor_gradient():
    result = gradcli.grad("sum(x*x)", at={"x": [3.0, 4.0]}, clip=Clip("norm", norm=5.0))
    assert result.results[0].gradient[0].tape == pytest.approx([3.0, 4.0])  # [6, 8] has norm 10


def test_clip_global_norm_over_all_variables(cli):
    run = cli("grad", "x**2 + y**3", "--at", "x=3,y=2", "--clip-global-norm", "1", "--format", "plain")
    x, y = (float(v) for v in run.stdout.split())
    assert (x, y) == pytest.approx((6 / math.sqrt(180), 12 / math.sqrt(180)), rel=1e-12)
    assert math.hypot(x, y) == pytest.approx(1.0)


def test_zero_gradient_under_clip_norm_is_zero_not_nan(cli):
    assert cli("grad", "x**2", "--at", "x=0", "--clip-norm", "1", "--format", "plain").stdout == "0\n"
    assert cli("grad", "x**2", "--at", "x=0", "--clip-global-norm", "1", "--format", "plain").stdout == "0\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--clip-value", "10:-10"], "MIN <= MAX"),
        (["--clip-value", "ten"], "MIN:MAX"),
        (["--clip-norm", "0"], "positive"),
        (["--clip-norm", "1", "--clip-global-norm", "1"], "only one of"),
        (["--clip-norm", "1", "--order", "2"], "first-order"),
    ],
)
def test_bad_clipping_options(cli, options, message):
    run = cli("grad", "x**2", "--at", "x=1", *options)
    assert run.code == 2 and message in run.stderr


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=4),
    st.sampled_from(["value", "norm", "global_norm"]),
    st.floats(0.1, 100),
)
def test_numpy_clipping_matches_tensorflow(values, method, amount):
    from gradcli.witnesses.tape import clip as tf_clip

    spec = Clip("value", low=-amount, high=amount) if method == "value" else Clip(method, norm=amount)
    gradients = {f"v{i}": np.float64(v) for i, v in enumerate(values)}
    ours = clipping.apply(spec, gradients)
    theirs = tf_clip(spec, gradients, "float64")
    for name in gradients:
        assert float(ours[name]) == pytest.approx(float(theirs[name]), rel=1e-12, abs=1e-300)


def test_parse_clip_none_when_absent():
    assert parse_clip() is None


# ---------------------------------------------------------------- stop_gradient (seed 000 "Stop Gradient")


def test_stop_gradient_in_named_steps(cli):
    run = cli("grad", "y = x*x; z = stop_gradient(y); w = z + x", "--at", "x=3", "--format", "json")
    partial = run.json["results"][0]["gradient"]["x"]
    assert run.code == 0
    assert (partial["tape"], partial["exact"], partial["without_stop"]) == (1.0, 1.0, 7.0)
    assert partial["finite_difference"] == pytest.approx(1.0, rel=1e-9)  # FD holds the stopped part constant
    assert run.json["expression"] == "y = x*x; z = stop_gradient(y); w = z + x"
    assert run.json["results"][0]["value"] == 12.0


def test_stop_option_chooses_the_step(cli):
    run = cli("grad", "y = x*x; w = y + x", "--at", "x=3", "--stop", "y", "--format", "json")
    partial = run.json["results"][0]["gradient"]["x"]
    assert (partial["tape"], partial["without_stop"]) == (1.0, 7.0)
    table = cli("grad", "y = x*x; w = y + x", "--at", "x=3", "--stop", "y").stdout
    assert "without stop_gradient, GradientTape would give d/dx = 7" in table


def test_stopped_factor_keeps_its_value_in_the_symbolic_derivative():
    result = gradcli.grad("z = stop_gradient(x**2); w = z*x", at={"x": 3})
    partial = result.results[0].gradient[0]
    assert partial.tape == 9.0 and partial.exact == 9.0  # d/dx of (stopped 9) * x
    assert partial.symbolic == "stop_gradient(x**2)"
    assert partial.without_stop == 27.0


def test_unnamed_middle_step_and_unknown_stop_are_errors(cli):
    run = cli("grad", "x*x; w = x", "--at", "x=1")
    assert run.code == 2 and "must be named" in run.stderr and "(column 1)" in run.stderr
    run = cli("grad", "y = x*x; w = y + x", "--at", "x=1", "--stop", "q")
    assert run.code == 2 and "not a named step" in run.stderr


def test_error_column_points_into_the_whole_program(cli):
    run = cli("grad", "y = x*x; w = sqr(y)", "--at", "x=1")
    assert run.stderr == "error: unknown function 'sqr' (column 14): did you mean 'sqrt'?\n"


# ---------------------------------------------------------------- persistent tapes (seed 001)


def test_persistent_tape_serves_several_targets(cli):
    run = cli("grad", "y = x**2; z = y**2", "--at", "x=3", "--of", "y,z", "--persistent", "--format", "json")
    doc = run.json
    assert run.code == 0
    assert (doc["targets"], doc["persistent"], doc["recordings"]) == (["y", "z"], True, 1)
    assert [(r["of"], r["gradient"]["x"]["tape"]) for r in doc["results"]] == [("y", 6.0), ("z", 108.0)]


def test_without_persistent_each_target_gets_its_own_recording(cli):
    run = cli("grad", "y = x**2; z = y**2", "--at", "x=3", "--of", "y,z", "--format", "json")
    assert (run.json["persistent"], run.json["recordings"]) == (False, 2)
    assert [r["gradient"]["x"]["tape"] for r in run.json["results"]] == [6.0, 108.0]
    assert "recorded on its own tape" in cli("grad", "y = x**2; z = y**2", "--at", "x=3", "--of", "y,z").stdout


def test_persistent_several_points_batched_equals_one_by_one():
    points = [{"x": 1.0}, {"x": 2.0}, {"x": -0.5}]
    together = gradcli.grad("y = sin(x)*x; z = y**2", at=points, of=["y", "z"], persistent=True)
    apart = gradcli.grad("y = sin(x)*x; z = y**2", at=points, of=["y", "z"])
    assert [r.gradient[0].tape for r in together.results] == pytest.approx([r.gradient[0].tape for r in apart.results])
    assert together.exit_code == 0


def test_persistent_without_of_is_an_error(cli):
    run = cli("grad", "x**2", "--at", "x=1", "--persistent")
    assert run.code == 2 and "--of" in run.stderr


@settings(max_examples=examples(30), deadline=None)
@given(st.floats(-3, 3).map(lambda v: round(v, 3)))
def test_stop_gradient_property_matches_symbolic_constant(x):
    # d/dx [stop(sin(x)) * x + x**2] = sin(x) + 2x
    result = gradcli.grad("s = stop_gradient(sin(x)); f = s*x + x**2", at={"x": x})
    partial = result.results[0].gradient[0]
    assert partial.tape == pytest.approx(math.sin(x) + 2 * x, rel=1e-12, abs=1e-12)
    assert partial.exact == pytest.approx(partial.tape, rel=1e-12, abs=1e-12)
    assert partial.without_stop == pytest.approx(math.sin(x) + x * math.cos(x) + 2 * x, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------- custom gradients (seed 000 "Custom Gradients")


def test_custom_gradient_seed_example(cli):
    run = cli("grad", "cube(x)", "--at", "x=4", "--custom", "cube(x) = x**3 : 2*x", "--format", "json")
    doc = run.json
    partial = doc["results"][0]["gradient"]["x"]
    assert run.code == 0  # the tape and the rule agree: a rule that differs from the truth is not an error
    assert doc["custom"] == {"cube": "cube(x) = x**3 : 2*x"}
    assert (partial["tape"], partial["exact"], partial["symbolic"]) == (8.0, 8.0, "2*x")
    assert (partial["true_exact"], partial["true_symbolic"]) == (48.0, "3*x**2")
    assert partial["finite_difference"] == pytest.approx(48.0, rel=1e-9)
    assert (
        "the custom gradient rule of cube gives d/dx = 8 here, but the true derivative is 48"
        in (doc["results"][0]["notes"][0]["message"])
    )


def test_custom_rule_equal_to_truth_has_no_note():
    result = gradcli.grad("cube(x)", at={"x": 4}, custom=["cube(x) = x**3 : 3*x**2"])
    assert result.exit_code == 0 and result.results[0].notes == ()
    assert result.results[0].gradient[0].tape == 48.0


def test_custom_inside_a_larger_expression_uses_the_chain_rule():
    # d/dx cube(2x)**2 with rule r(u) = 2u: 2*cube(2x) * r(2x) * 2 = 2*64*8*2 at x = 2
    result = gradcli.grad("cube(2*x)**2", at={"x": 2}, custom=["cube(u) = u**3 : 2*u"])
    partial = result.results[0].gradient[0]
    assert partial.tape == pytest.approx(2 * 64 * 8 * 2) and partial.exact == pytest.approx(partial.tape)
    assert partial.true_exact == pytest.approx(6 * 2**6 * 2**5)  # d/dx (2x)**6 = 6*2**6*x**5 at x = 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cube(x) = x**3", "write name(x) = body : derivative"),
        ("sin(x) = x : 1", "built-in name"),
        ("cube(x) = x*y : 1", "may use only x"),
        ("cube(x) = sum(x) : 1", "elementwise"),
    ],
)
def test_bad_custom_definitions(cli, spec, message):
    run = cli("grad", "cube(x)", "--at", "x=1", "--custom", spec)
    assert run.code == 2 and message in run.stderr


# ---------------------------------------------------------------- combinations


def test_clipping_a_stopped_step_combines(cli):
    run = cli("grad", "y = x*x; w = 100*y + x", "--at", "x=3", "--stop", "y", "--clip-value", "-0.5:0.5", "-f", "json")
    partial = run.json["results"][0]["gradient"]["x"]
    assert run.code == 0
    assert (partial["tape"], partial["unclipped"], partial["without_stop"]) == (0.5, 1.0, 601.0)


def test_custom_with_persistent_targets_and_order():
    result = gradcli.grad(
        "y = cube(x); z = y*x", at={"x": 2}, custom=["cube(x) = x**3 : 2*x"], of=["y", "z"], persistent=True
    )
    assert [r.gradient[0].tape for r in result.results] == [4.0, 4.0 * 2 + 8.0]
    second = gradcli.grad("cube(x)", at={"x": 2}, custom=["cube(x) = x**3 : x**2"], order=2)
    assert second.results[0].gradient[0].tape == 4.0  # the rule's own derivative, 2x


# ---------------------------------------------------------------- properties of the controls against the symbolic side


small = st.floats(-3, 3).map(lambda v: round(v, 3))


@settings(max_examples=examples(30), deadline=None)
@given(small, small, st.floats(0.1, 20).map(lambda v: round(v, 2)))
def test_clipped_tape_equals_clipped_exact(x, y, limit):
    for spec in (Clip("value", low=-limit, high=limit), Clip("norm", norm=limit), Clip("global_norm", norm=limit)):
        result = gradcli.grad("x**3*y + 5*sin(x*y)", at={"x": x, "y": y}, clip=spec)
        point = result.results[0]
        exact = {p.name: p.exact_unclipped for p in point.gradient}
        expected = clipping.apply(spec, exact)
        assert result.exit_code == 0
        for p in point.gradient:
            assert p.tape == pytest.approx(float(expected[p.name]), rel=1e-9, abs=1e-12)


@settings(max_examples=examples(30), deadline=None)
@given(small)
def test_custom_rule_is_what_the_tape_follows(x):
    # rule 5*cos(u) for body sin(u): the tape gives d/dx sin-ish(x**2) = 5*cos(x**2)*2x
    result = gradcli.grad("wiggle(x**2)", at={"x": x}, custom=["wiggle(u) = sin(u) : 5*cos(u)"])
    partial = result.results[0].gradient[0]
    assert partial.tape == pytest.approx(5 * math.cos(x * x) * 2 * x, rel=1e-9, abs=1e-12)
    assert partial.true_exact == pytest.approx(math.cos(x * x) * 2 * x, rel=1e-9, abs=1e-12)
    assert result.exit_code == 0


@settings(max_examples=examples(20), deadline=None)
@given(small)
def test_persistent_and_separate_recordings_agree(x):
    expression = "a = exp(x/2); b = a*sin(x); c = b**2 + a"
    one = gradcli.grad(expression, at={"x": x}, of=["a", "b", "c"], persistent=True)
    each = gradcli.grad(expression, at={"x": x}, of=["a", "b", "c"])
    assert [r.gradient[0].tape for r in one.results] == pytest.approx([r.gradient[0].tape for r in each.results])
    assert [r.gradient[0].tape for r in one.results] == pytest.approx(
        [r.gradient[0].exact for r in one.results], rel=1e-9, abs=1e-12
    )


def test_csv_with_several_targets_names_the_target(cli):
    run = cli("grad", "y = x**2; z = y**2", "--at", "x=3", "--of", "y,z", "--format", "csv")
    assert run.stdout == "of,x,df/dx,status\ny,3,6,agree\nz,3,108,agree\n"


def test_nested_time_limits_keep_the_outer_alarm():
    import signal
    import time

    from gradcli.errors import LimitError
    from gradcli.witnesses.symbolic import time_limit

    with pytest.raises(LimitError, match="outer"), time_limit(0.3, "outer"):
        with time_limit(5, "inner"):
            pass
        time.sleep(1)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
