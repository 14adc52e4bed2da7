"""Every example in the seed documents (../shared/seeds/) that `gradcli grad` covers, with its numbers."""

import math

import pytest

import gradcli


def tape(result, name, point=0):
    return next(p for p in result.results[point].gradient if p.name == name).tape


@pytest.mark.parametrize(
    ("expression", "at", "expected"),
    [
        ("x * x", {"x": 3.0}, {"x": 6.0}),  # seed 000 "Simple Example", seed 003, seed 001
        ("x**2 + 2*x + 1", {"x": 3.0}, {"x": 8.0}),  # seed 002 12.4 (PyTorch backward)
        ("x**3 + 2*x", {"x": 2.0}, {"x": 14.0}),  # seed 002 exercise 2
        ("x**2 + 2*x - 1", {"x": 2.0}, {"x": 6.0}),  # seed 003 task
        ("x**2 + y**2", {"x": 3, "y": 4}, {"x": 6.0, "y": 8.0}),  # seed 002 12.1
        ("x*y + y**2", {"x": 1.5, "y": -2}, {"x": -2.0, "y": 1.5 + 2 * -2}),  # seed 002 12.2: y, x + 2y
        ("x**2 + x*y + y**2", {"x": 1, "y": 2}, {"x": 2 + 2, "y": 1 + 4}),  # seed 002 exercise 1
        ("(3*x + 2)**2", {"x": 1}, {"x": 6 * (3 + 2)}),  # seed 002 12.3 chain rule
    ],
)
def test_seed_scalar_examples(expression, at, expected):
    result = gradcli.grad(expression, at=at)
    assert result.exit_code == 0
    for name, value in expected.items():
        assert tape(result, name) == pytest.approx(value, rel=1e-12)


def test_seed_variable_and_constant():
    # seed 000 "TensorFlow Variables": weight = tf.Variable(2.0); bias = tf.constant(1.0)
    result = gradcli.grad("weight * 3 + bias", at={"weight": 2.0}, const={"bias": 1.0})
    assert result.results[0].value == 7.0
    assert tape(result, "weight") == 3.0
    assert tape(result, "bias") is None
    watched = gradcli.grad("weight * 3 + bias", at={"weight": 2.0}, const={"bias": 1.0}, watch=["bias"])
    assert tape(watched, "bias") == 1.0  # seed 001: tape.watch() on a constant


def test_seed_watch_a_constant_alone(cli):
    # seed 001: "how to explicitly use tape.watch() to compute gradients with respect to a constant tensor":
    # x = tf.constant(3.0); with tf.GradientTape() as tape: tape.watch(x); y = x**2 -> tape.gradient(y, x) = 6
    run = cli("grad", "x**2", "--const", "x=3", "--watch", "x", "--format", "json")
    assert run.code == 0, run.stderr
    point = run.json["results"][0]
    row = point["gradient"]["x"]
    assert (row["tape"], row["exact"], row["finite_difference"], row["watched"]) == (6.0, 6.0, 6.0, True)
    assert point["at"] == {} and run.json["constants"] == {"x": 3.0}
    assert [(n["kind"], n["variable"]) for n in point["notes"]] == [("watched_constant", "x")]
    assert "tape.watch(x) makes it a source" in point["notes"][0]["message"]
    assert gradcli.grad("x**2", at={}, const={"x": 3}, watch=["x"]).results[0].gradient["x"].tape == 6.0


def test_seed_tensor_sum():
    # seed 003 "Several Partial Derivatives": x = tf.fill((2, 3), 3.0); z = 5.0
    result = gradcli.grad("sum(x*x + 2*z)", at={"x": [[3.0] * 3] * 2, "z": 5.0})
    assert result.results[0].value == 114.0
    assert tape(result, "x") == [[6.0] * 3] * 2
    assert tape(result, "z") == 12.0
    assert result.exit_code == 0


def test_seed_linear_model():
    # seed 001: y = xW + b, loss gradients with respect to W and b
    result = gradcli.grad(
        "sum((x @ W + b - y)**2)",
        at={"W": [[0.1], [0.2]], "b": 0.5},
        const={"x": [[1, 2], [3, 4]], "y": [[1], [0]]},
    )
    assert result.exit_code == 0
    assert [row[0] for row in tape(result, "W")] == pytest.approx([9.6, 12.8])
    assert tape(result, "b") == pytest.approx(3.2)


def test_seed_sigmoid_gradient_over_a_range():
    # seed 001 plots sigmoid and its tape gradient; the gradient is s(x)(1 - s(x))
    xs = [-6, -3, -1, 0, 0.5, 2, 6]
    result = gradcli.grad("sigmoid(x)", at=[{"x": x} for x in xs])
    assert result.exit_code == 0
    for i, x in enumerate(xs):
        s = 1 / (1 + math.exp(-x))
        assert tape(result, "x", i) == pytest.approx(s * (1 - s), rel=1e-12)
    assert tape(result, "x", 3) == 0.25


def test_seed_pytorch_exercise_beside_tensorflow(cli):
    # seed 002 exercise 2: x = torch.tensor([2.0], requires_grad=True); y = x**3 + 2*x; y.backward() -> 14
    from gradcli.witnesses.frameworks import installed

    run = cli("grad", "x**3 + 2*x", "--at", "x=2", "--frameworks", "--format", "json")
    assert run.code == 0
    shown = run.json["results"][0]["gradient"]["x"]["frameworks"]
    assert shown["tensorflow"] == 14.0
    if "torch" not in installed():
        pytest.skip("PyTorch is not installed: the seed's PyTorch exercise is shown beside TensorFlow only where it is")
    import torch

    x = torch.tensor([2.0], requires_grad=True)
    y = x**3 + 2 * x
    y.backward()
    assert shown["torch"] == float(x.grad[0]) == 14.0
