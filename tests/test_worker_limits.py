"""Issue 24, finding 4: the warm worker's child takes each caller's resource limits (CPU time, file size,
address space), and a worker started under limits does not impose them on later calls.

Warm calls set GRADCLI_DEBUG=1, so a fallback to a cold run shows as a `gradcli: running cold: ...` line.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from gradcli.runtime import protocol, worker
from tests.test_worker import TIMEOUT, _cold, _start, _status, _stop

TRACE = ["descend", "(w - 3)**2", "--from", "w=0", "--steps", "2000", "--trace", "t.csv", "--format", "json"]
SPIN = ["descend", "(w - 3)**2 + sin(w)*cos(w)", "--from", "w=0", "--steps", "30000", "--format", "json"]


def _limited(limits: str, args, env, cwd) -> subprocess.CompletedProcess:
    """gradcli run by a shell that first sets `ulimit` limits (as a user's shell would)."""
    command = ["bash", "-c", f'{limits}; exec "$@"', "bash", sys.executable, "-m", "gradcli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    env = _start(tmp_path_factory.mktemp("xdg"))
    yield env
    _stop(env)


def _cold_and_warm(warm, tmp_path, limits, args):
    results = []
    for label, env in (("cold", _cold(warm)), ("warm", warm)):
        where = tmp_path / label
        where.mkdir()
        before = _status(warm)["requests"]
        proc = _limited(limits, args, env, where)
        served = _status(warm)["requests"] - before
        written = {p.name: p.stat().st_size for p in where.iterdir()}
        results.append((proc.returncode, proc.stdout, proc.stderr, written, served))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("limits", ["ulimit -f 4", "ulimit -S -f 4"])
def test_ulimit_f_holds_warm_as_cold(warm, tmp_path, limits):
    """Before: warm, a trace past `ulimit -f 4` was written whole and the call exited 0."""
    (code, out, err, written, _), (w_code, w_out, w_err, w_written, served) = _cold_and_warm(
        warm, tmp_path, limits, TRACE
    )
    assert served == 1 and "running cold" not in w_err  # really answered by the worker's child
    assert (code, out, written) == (5, "", {}), err  # written whole or not at all: no partial trace is left
    assert err.startswith("error: ") and err.count("\n") == 1
    assert (w_code, w_out, w_err, w_written) == (code, out, err, written)


@pytest.mark.slow
@pytest.mark.parametrize(("limits", "signum"), [("ulimit -t 3", -9), ("ulimit -S -t 3", -24)])
def test_ulimit_t_holds_warm_as_cold(warm, tmp_path, limits, signum):
    """Before: warm, a run of many seconds went on past `ulimit -t`, where a cold one is killed by the kernel."""
    (code, out, _, _, _), (w_code, w_out, w_err, _, served) = _cold_and_warm(warm, tmp_path, limits, SPIN)
    assert served == 1 and "running cold" not in w_err
    assert code == signum  # SIGKILL at the hard limit, SIGXCPU past the soft one
    assert (w_code, w_out) == (code, out)


@pytest.mark.slow
def test_a_worker_started_under_a_soft_limit_does_not_impose_it(tmp_path):
    """Before: a worker started under `ulimit -f 4` made every later warm call exit 5 with 4,096 bytes."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = _start(runtime)  # only to learn the environment; restart it under the limit
    _stop(env)
    started = _limited("ulimit -S -f 4", ["worker", "start"], env, tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        before = _status(env)["requests"]
        proc = subprocess.run([sys.executable, "-m", "gradcli", *TRACE], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=TIMEOUT)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""  # warm, not a cold fallback
        assert _status(env)["requests"] == before + 1
        assert (tmp_path / "t.csv").stat().st_size > 4096
    finally:
        _stop(env)


@pytest.mark.slow
def test_a_worker_started_under_a_hard_limit_sends_higher_callers_cold(tmp_path):
    """A lowered hard limit cannot be raised again: a caller above it runs cold, with its own limits."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = _start(runtime)
    _stop(env)
    started = _limited("ulimit -f 4", ["worker", "start"], env, tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        proc = subprocess.run([sys.executable, "-m", "gradcli", *TRACE], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=TIMEOUT)  # fmt: skip
        assert proc.returncode == 0
        assert proc.stderr == "gradcli: running cold: worker refused: resource limit FSIZE above the worker's\n"
        assert (tmp_path / "t.csv").stat().st_size > 4096
    finally:
        _stop(env)


def test_a_request_carries_this_processs_limits():
    expected = {name: list(resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))) for name in protocol.LIMITS}
    assert protocol.limits() == expected
    assert set(expected) == {"CPU", "FSIZE", "AS"}


@pytest.mark.parametrize(
    ("value", "bound", "above"),
    [(-1, -1, False), (5, -1, False), (-1, 5, True), (6, 5, True), (5, 5, False), (4, 5, False)],
)
def test_limit_above_treats_minus_one_as_unlimited(value, bound, above):
    assert protocol.limit_above(value, bound) is above


def test_a_caller_above_the_workers_hard_limit_is_refused(monkeypatch):
    hard = {name: 1000 for name in protocol.LIMITS}
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1000, 1000))
    assert worker._limits_refusal({"rlimits": {n: [h, h] for n, h in hard.items()}}) is None
    assert worker._limits_refusal({"rlimits": {**{n: [10, 10] for n in hard}, "AS": [-1, -1]}}) == (
        "resource limit AS above the worker's"
    )
    assert worker._limits_refusal({"rlimits": {**{n: [10, 10] for n in hard}, "CPU": [20, 10]}}) == (
        "resource limit CPU above the worker's"
    )
    for bad in (None, {}, {n: [1, 1] for n in ("CPU", "FSIZE")}, {n: [1.5, 2] for n in hard}, {n: 1 for n in hard}):
        assert worker._limits_refusal({"rlimits": bad}) == "bad request"
