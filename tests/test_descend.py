"""gradcli descend: the seeds' training loop and update rule, optimizers, stopping, trace, CLI."""

import csv
import math

import pytest

from gradcli.solve.descent import descend
from gradcli.witnesses.clip import Clip


def test_seed_training_loop_learns_w_3(cli):
    # seed 000 "Complete Example": w = 0.5, 100 steps, clip_by_value(-1, 1), w.assign_sub(0.1 * grad)
    run = descend("(w*2 - 6)**2", {"w": 0.5}, lr=0.1, steps=100, clip=Clip("value", low=-1.0, high=1.0))
    assert run.final.params["w"] == pytest.approx(3.0, abs=1e-12)
    assert run.history[0].gradient["w"] == -20.0 and run.history[0].clipped["w"] == -1.0
    assert run.history[1].params["w"] == pytest.approx(0.6)  # 0.5 - 0.1 * (-1)
    table = cli("descend", "(w*2 - 6)**2", "--from", "w=0.5", "--lr", "0.1", "--steps", "100", "--clip-value", "-1:1")
    assert table.code == 0 and "final: w = 3, loss 0" in table.stdout


def test_seed_same_numbers_as_the_tensorflow_loop():
    from gradcli.witnesses.tape import tensorflow

    tf = tensorflow()
    w = tf.Variable(0.5, dtype=tf.float64)
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = (w * 2 - 6) ** 2
        w.assign_sub(0.1 * tf.clip_by_value(tape.gradient(loss, w), -1.0, 1.0))
    run = descend("(w*2 - 6)**2", {"w": 0.5}, lr=0.1, steps=100, clip=Clip("value", low=-1.0, high=1.0))
    assert run.final.params["w"] == float(w.numpy())


def test_seed_one_update_theta_2_2():
    # seed 002 12.5: theta = 3.0, gradient 8.0 (of x**2 + 2x + 1), lr 0.1 -> 2.2
    run = descend("x**2 + 2*x + 1", {"x": 3}, lr=0.1, steps=1)
    assert run.history[0].gradient["x"] == 8.0
    assert run.final.params["x"] == pytest.approx(2.2, rel=1e-15)


def test_divergence_is_detected_with_advice():
    run = descend("x**4 - 3*x**2", {"x": 0.1}, lr=0.5, steps=200)
    assert run.stopped == "diverged"
    assert run.reason.startswith("loss grew past 1e+12 at step") and "smaller --lr" in run.reason
    assert run.final.step < 200


def test_convergence_by_tolerance():
    run = descend("(x - 1)**2 + 3*(y + 2)**2", {"x": 4, "y": 4}, lr=0.1, steps=1000, tol=1e-8)
    assert run.stopped == "converged" and run.final.step < 1000
    assert run.final.params == {"x": pytest.approx(1.0, abs=1e-8), "y": pytest.approx(-2.0, abs=1e-8)}


def test_momentum_and_adam_follow_their_update_rules():
    g0 = 2 * (4 - 1)  # d/dx (x - 1)**2 at 4
    momentum = descend("(x - 1)**2", {"x": 4}, lr=0.1, steps=2, optimizer="momentum")
    x1 = 4 - 0.1 * g0
    v1 = 0.9 * g0 + 2 * (x1 - 1)
    assert momentum.history[1].params["x"] == pytest.approx(x1)
    assert momentum.history[2].params["x"] == pytest.approx(x1 - 0.1 * v1)
    adam = descend("(x - 1)**2", {"x": 4}, lr=0.1, steps=1, optimizer="adam")
    m_hat, v_hat = g0, g0 * g0  # bias-corrected first step: m = g, v = g**2
    assert adam.history[1].params["x"] == pytest.approx(4 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8))


def test_callback_sees_every_step_and_the_loop_never_prints(capsys):
    seen = []
    descend("x**2", {"x": 1}, lr=0.1, steps=5, callback=seen.append)
    assert [s.step for s in seen] == [0, 1, 2, 3, 4, 5]
    assert capsys.readouterr().out == ""


def test_json_and_trace(cli, tmp_path):
    trace = tmp_path / "trace.csv"
    run = cli(
        "descend", "x**2", "--from", "x=1", "--lr", "0.1,0.5", "--steps", "2", "--trace", str(trace), "-f", "json"
    )
    doc = run.json
    assert [r["lr"] for r in doc["runs"]] == [0.1, 0.5]
    assert doc["runs"][0]["final"]["params"] == {"x": pytest.approx(0.64)}
    assert list(doc["runs"][0]) == ["optimizer", "lr", "stopped", "reason", "steps", "final", "history"]
    rows = list(csv.reader(trace.open()))
    assert rows[0] == ["lr", "step", "loss", "x", "grad_x", "clipped_x"]
    assert rows[1] == ["0.1", "0", "1", "1", "2", "2"]
    assert [float(v) for v in rows[2]] == pytest.approx([0.1, 1, 0.64, 0.8, 1.6, 1.6], rel=1e-15)
    assert len(rows) == 1 + 2 * 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lr", "fast"], "--lr"),
        (["--lr", "-1"], "positive"),
        (["--optimizer", "rmsprop"], "sgd, momentum, adam"),
        (["--steps", "-3"], "--steps"),
        (["--format", "csv"], "table or json"),
    ],
)
def test_descend_input_errors(cli, options, message):
    run = cli("descend", "x**2", "--from", "x=1", *options)
    assert run.code == 2 and message in run.stderr and run.stdout == ""


def test_two_starting_points_are_refused(cli):
    run = cli("descend", "x**2", "--from", "x=1", "--from", "x=2")
    assert run.code == 2 and "one starting point" in run.stderr


# ---------------------------------------------------------------- descent on data


def test_data_line_is_reproducible(cli):
    first = cli("data", "line", "--slope", "2", "--intercept", "1", "--noise", "0.1", "-n", "5", "--seed", "0")
    again = cli("data", "line", "--slope", "2", "--intercept", "1", "--noise", "0.1", "-n", "5", "--seed", "0")
    assert first.stdout == again.stdout and first.stdout.startswith("x,y\n") and len(first.stdout.splitlines()) == 6


def test_fit_recovers_slope_and_intercept_within_the_noise(cli, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text(cli("data", "line", "--slope", "2", "--intercept", "1", "--noise", "0.1", "-n", "200").stdout)
    run = cli(
        "descend", "(w*x + b - y)**2", "--data", str(points), "--from", "w=0,b=0",
        "--lr", "0.05", "--epochs", "50", "--batch-size", "16", "--seed", "0", "-f", "json",
    )  # fmt: skip
    final = run.json["runs"][0]["final"]
    assert run.code == 0
    assert final["params"]["w"] == pytest.approx(2.0, abs=0.03)  # 0.1 noise over 200 points: se ~ 0.006
    assert final["params"]["b"] == pytest.approx(1.0, abs=0.03)
    assert final["loss"] == pytest.approx(0.01, rel=0.3)  # the mean squared noise
    assert run.json["runs"][0]["steps"] == 50 * 13  # ceil(200 / 16) mini-batches per epoch


def test_full_batch_and_stochastic(tmp_path):
    import numpy as np

    x = np.linspace(-1, 1, 20)
    data = {"x": x, "y": 3 * x - 2}
    full = descend("(w*x + b - y)**2", {"w": 0, "b": 0}, lr=0.2, data=data, epochs=200)
    single = descend("(w*x + b - y)**2", {"w": 0, "b": 0}, lr=0.05, data=data, epochs=30, batch_size=1, seed=1)
    assert len(full.history) == 201 and len(single.history) == 30 * 20 + 1
    for run in (full, single):
        assert run.final.params == {"w": pytest.approx(3.0, abs=0.01), "b": pytest.approx(-2.0, abs=0.01)}


def test_data_problems_name_the_file_row_and_column(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    run = cli("descend", "(w*x - y)**2", "--data", str(bad), "--from", "w=0")
    assert run.code == 2 and run.stderr == f"error: {bad} line 3: column y: 'oops' is not a number\n"
    empty = tmp_path / "empty.csv"
    empty.write_text("x,y\n")
    assert "no rows" in cli("descend", "(w*x - y)**2", "--data", str(empty), "--from", "w=0").stderr
    missing = cli("descend", "(w*x - z)**2", "--data", str(bad), "--from", "w=0")
    assert missing.code == 2 and "z is neither a --from parameter nor a column" in missing.stderr
