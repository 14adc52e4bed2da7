"""The tape's controls: clipping, stop_gradient, custom gradients, persistent tapes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli
from gradcli import clip as clipping
from gradcli.clip import Clip, parse_clip

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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=4),
    st.sampled_from(["value", "norm", "global_norm"]),
    st.floats(0.1, 100),
)
def test_numpy_clipping_matches_tensorflow(values, method, amount):
    from gradcli.tape import clip as tf_clip

    spec = Clip("value", low=-amount, high=amount) if method == "value" else Clip(method, norm=amount)
    gradients = {f"v{i}": np.float64(v) for i, v in enumerate(values)}
    ours = clipping.apply(spec, gradients)
    theirs = tf_clip(spec, gradients, "float64")
    for name in gradients:
        assert float(ours[name]) == pytest.approx(float(theirs[name]), rel=1e-12, abs=1e-300)


def test_parse_clip_none_when_absent():
    assert parse_clip() is None
