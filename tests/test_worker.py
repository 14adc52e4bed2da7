"""The warm worker: the same bytes as a cold call, a private socket, and a cold run whenever it cannot serve.

One worker serves the whole module, in a temporary XDG_RUNTIME_DIR (never a real user's); the few tests that
need a worker of their own (stale socket, idle exit) start it in another temporary directory, and every
worker is stopped, then killed if it lingers, at the end. Warm runs set GRADCLI_DEBUG=1, so a silent fallback
to a cold run would show up as an extra stderr line and fail the comparison.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gradcli.app import client
from gradcli.runtime import protocol
from tests.conftest import CALLS, run_cli

TIMEOUT = 60


def _env(runtime: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADCLI_")}
    env.update({"XDG_RUNTIME_DIR": str(runtime), "GRADCLI_WORKER": "", "GRADCLI_DEBUG": "1", **extra})
    return env


def _gradcli(args, env, cwd=None, stdin="", **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradcli", *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd,
        timeout=TIMEOUT, **kw,
    )  # fmt: skip


def _private_runtime(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh XDG_RUNTIME_DIR and the path of this installation's worker socket in it."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    (runtime / "gradcli").mkdir(mode=0o700)
    return runtime, Path(protocol.socket_path(str(runtime / "gradcli")))


def _status(env) -> dict | None:
    code = "import json; from gradcli.app import client; print(json.dumps(client.worker_status()))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=TIMEOUT)
    return json.loads(proc.stdout)


def _start(runtime: Path, *options: str) -> dict:
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = _env(runtime)
    proc = _gradcli(["worker", "start", *options], env)
    assert proc.returncode == 0, proc.stderr
    return env


def _stop(env) -> None:
    status = _status(env)
    _gradcli(["worker", "stop"], env)
    if status:
        for pid in (status["pid"], *status["busy_pids"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    env = _start(tmp_path_factory.mktemp("xdg"))
    yield env
    _stop(env)


def _cold(env) -> dict:
    return {**env, "GRADCLI_WORKER": "off"}


def _both(warm, args, stdin="", files=None, tmp_path=None, **env_extra):
    """Run args cold and warm, each in a fresh directory holding the same input files; what each left behind."""
    results = []
    for label, env in (("cold", _cold(warm)), ("warm", warm)):
        where = tmp_path / label
        where.mkdir()
        for name, text in (files or {}).items():
            (where / name).write_text(text)
        proc = _gradcli(args, {**env, **env_extra}, cwd=where, stdin=stdin)
        written = {p.name: p.read_bytes() for p in sorted(where.iterdir()) if p.name not in (files or {})}
        results.append((proc.returncode, proc.stdout, proc.stderr, written))
    return results


PROBLEMS = 'grad "x**2" --at x=3\n{"command": "hessian", "expression": "x*y**2", "at": {"x": 1, "y": 2}}\nnope\n'
MATRIX = {
    "readme-loop": (["grad", "sin(x)*exp(-x/5)", "--at", "x=2", "--format", "plain"], "", None),
    "table": (["grad", "x**2 + y**2", "--at", "x=3,y=4"], "", None),
    "kink-exit-3": (["grad", "abs(x)", "--at", "x=0"], "", None),
    "unknown-name-exit-2": (["grad", "sqr(x)", "--at", "x=1"], "", None),
    "usage-error": (["grad", "x**2", "--at", "x=1", "--format", "xml"], "", None),
    "help": (["--help"], "", None),
    "version": (["--version"], "", None),
    "command-help": (["grad", "--help"], "", None),
    "no-arguments": ([], "", None),
    "jacobian-json": (["jacobian", "[x*y, x + y]", "--at", "x=1,y=2", "--format", "json"], "", None),
    "hessian-csv": (["hessian", "x**2*y", "--at", "x=1,y=2", "--format", "csv"], "", None),
    "check-right": (["check", "x**2 + 2*x", "--answer", "2*(x+1)"], "", None),
    "check-wrong-exit-1": (["check", "x**2", "--answer", "3*x", "--format", "json"], "", None),
    "descend-trace-file": (
        ["descend", "(w - 3)**2", "--from", "w=0", "--steps", "5", "--trace", "trace.csv", "--format", "json"],
        "",
        None,
    ),
    "plot-png-file": (["plot", "sigmoid(x)", "--range", "-6:6", "--out", "s.png"], "", None),
    "plot-terminal": (["plot", "x**2", "--range", "-2:2"], "", None),
    "batch-stdin": (["batch", "-"], PROBLEMS, None),
    "batch-relative-file": (["batch", "problems.txt"], "", {"problems.txt": PROBLEMS}),
    "batch-missing-file": (["batch", "nope.txt"], "", None),
    "points-stdin": (["grad", "x**2*y", "--points", "-", "--format", "csv"], "x,y\n1,2\n3,bad\n0.5,4\n", None),
    "descend-data-file": (
        ["descend", "(a*x + b - y)**2", "--from", "a=0,b=0", "--data", "d.csv", "--steps", "3", "--format", "json"],
        "",
        {"d.csv": "x,y\n0,1\n1,3\n2,5\n"},
    ),
    "expression-stdin": (["grad", "-", "--at", "x=3", "--format", "plain"], "x**2\n", None),
    "expression-stdin-two-lines": (["grad", "-", "--at", "x=3"], "x**2\nx**3\n", None),
    "data-line": (["data", "line", "-n", "5"], "", None),
}


@pytest.mark.parametrize("case", MATRIX, ids=list(MATRIX))
def test_cold_and_warm_runs_agree_byte_for_byte(case, warm, tmp_path):
    args, stdin, files = MATRIX[case]
    cold, hot = _both(warm, args, stdin, files, tmp_path)
    assert hot == cold
    assert cold[0] in (0, 1, 2, 3)


@pytest.mark.parametrize("variables", [{"COLUMNS": "60"}, {"NO_COLOR": "1"}], ids=["COLUMNS", "NO_COLOR"])
def test_the_environment_gradcli_reads_is_the_clients(variables, warm, tmp_path):
    args = ["grad", "x**2 + y**2 + z", "--at", "x=3,y=4,z=1"]
    cold, hot = _both(warm, args, tmp_path=tmp_path, **variables)
    assert hot == cold


@pytest.mark.parametrize("variables", [{"LC_ALL": "C.UTF-8"}, {"TF_ENABLE_ONEDNN_OPTS": "0"}], ids=["LC_ALL", "TF"])
def test_a_client_with_other_import_time_variables_runs_cold(variables, warm, tmp_path):
    args = ["grad", "x**2 + y**2 + z", "--at", "x=3,y=4,z=1"]
    cold, hot = _both(warm, args, tmp_path=tmp_path, **variables)
    assert hot[:2] == cold[:2] and hot[3] == cold[3]
    assert (
        hot[2]
        == "gradcli: running cold: worker refused: environment differs from the worker's"
        + (" (variables read at import)\n")
        + cold[2]
    )


def _on_terminal(args, env, columns=100) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal: what a person at a terminal would see."""
    import fcntl
    import struct
    import termios

    main, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", *args], stdin=subprocess.DEVNULL, stdout=side,
                            stderr=side, env=env)  # fmt: skip
    os.close(side)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return proc.wait(timeout=TIMEOUT), b"".join(chunks)


def test_a_terminal_gets_the_same_table_as_a_cold_call(warm):
    args = ["grad", "x**2 + y**2", "--at", "x=3,y=4"]
    cold = _on_terminal(args, _cold(warm))
    assert _on_terminal(args, warm) == cold
    assert "│" in cold[1].decode()  # a terminal gets the table, with its box drawing


def test_warm_calls_are_served_by_the_worker(warm):
    before = _status(warm)["requests"]
    proc = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], warm)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "6\n", "")
    assert _status(warm)["requests"] == before + 1


def test_status_names_pid_uptime_version_requests_and_memory(warm):
    proc = _gradcli(["worker", "status"], warm)
    from gradcli import __version__

    assert proc.returncode == 0
    for label in ("pid: ", "uptime: ", f"version: {__version__}\n", "requests: ", "memory: ", "idle timeout: 15 min"):
        assert label in proc.stdout


REPLAY = """
import json, os, sys, tempfile
from gradcli.app import client
calls = json.load(sys.stdin)
saved = [os.dup(fd) for fd in (0, 1, 2)]
answers = []
for args, stdin in calls:
    with tempfile.TemporaryFile() as i, tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        i.write(stdin.encode())
        i.seek(0)
        for fd, f in enumerate((i, o, e)):
            os.dup2(f.fileno(), fd)
        code = client.through_worker(args)
        for fd in (0, 1, 2):
            os.dup2(saved[fd], fd)
        o.seek(0)
        e.seek(0)
        answers.append([code, o.read().decode(), e.read().decode()])
os.write(saved[1], json.dumps(answers).encode())
"""


def test_the_whole_suites_cli_calls_agree_through_the_worker(warm):
    """Every call the suite made in-process (tests/conftest.py records them), answered again by the worker.

    The driver makes the calls as the `gradcli` entry point does, with its stdin, stdout and stderr on
    temporary files, without paying an interpreter start-up per call. Run alone, this module has no record,
    so the in-process forms of its own matrix stand in. --help and --version are left out: in-process they
    print to the test's own stdout (the matrix above compares them as real processes); so are reads of
    /dev/urandom, whose input differs from one run to the next."""
    recorded = CALLS or [(tuple(a), s) for a, s, f in MATRIX.values() if not f]
    calls = [
        (args, stdin)
        for args, stdin in dict.fromkeys(recorded)
        if args
        and not {"--help", "-h", "--version"} & set(args)
        and args[0] not in ("plot", "descend")
        and not any(a.startswith(("/dev/urandom", "/dev/random")) for a in args)  # different bytes each time
    ]
    proc = subprocess.run(
        [sys.executable, "-c", REPLAY], input=json.dumps([[list(a), s] for a, s in calls]), capture_output=True,
        text=True, env=warm, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = json.loads(proc.stdout)
    assert len(answers) == len(calls)
    for (args, stdin), answer in zip(calls, answers, strict=True):
        expected = run_cli(*args, stdin=stdin)
        # A call stopped by the 20 s work limit says how far it got, which depends on the machine's speed
        # at that moment: warm and cold must agree on everything else.
        assert _progress_free(answer) == _progress_free([expected.code, expected.stdout, expected.stderr]), args


def _progress_free(answer: list) -> list:
    return [
        re.sub(r"stopped after [\d,]+ of", "stopped after N of", part) if isinstance(part, str) else part
        for part in answer
    ]


# --- security -----------------------------------------------------------------------------------------------


def test_socket_directory_is_private_and_the_socket_ours(warm):
    directory = Path(warm["XDG_RUNTIME_DIR"]) / "gradcli"
    info = directory.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    sockets = list(directory.glob("worker-*.sock"))
    assert len(sockets) == 1
    assert stat.S_ISSOCK(sockets[0].lstat().st_mode) and stat.S_IMODE(sockets[0].lstat().st_mode) == 0o600


def test_a_symlinked_or_open_directory_is_refused(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    (runtime / "gradcli").symlink_to(real)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert protocol.runtime_dir(create=True) is None
    (runtime / "gradcli").unlink()
    (runtime / "gradcli").mkdir(mode=0o755)
    os.chmod(runtime / "gradcli", 0o755)
    assert protocol.runtime_dir(create=True) is None
    os.chmod(runtime / "gradcli", 0o700)
    assert protocol.runtime_dir(create=True) == str(runtime / "gradcli")


def test_a_refused_directory_means_a_cold_run_and_no_worker(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    (runtime / "gradcli").mkdir(mode=0o777)
    os.chmod(runtime / "gradcli", 0o777)
    env = _env(runtime, GRADCLI_WORKER="auto")
    proc = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "6\n", "")
    start = _gradcli(["worker", "start"], env)
    assert start.returncode == 2 and start.stderr.startswith("error: cannot start the worker: no private directory")
    assert list((runtime / "gradcli").iterdir()) == []


def test_a_socket_whose_process_is_another_users_is_not_trusted(warm, monkeypatch):
    path = protocol.socket_path(str(Path(warm["XDG_RUNTIME_DIR"]) / "gradcli"))
    with protocol.connect(path) as sock:
        assert protocol.peer_uid(sock) == os.getuid()
    real = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real + 1)
    with pytest.raises(client.Unusable):
        protocol.connect(path)


def test_a_foreign_file_in_place_of_the_socket_is_ignored(tmp_path):
    runtime, path = _private_runtime(tmp_path)
    env = _env(runtime)
    path.write_text("not a socket")
    proc = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], env)
    assert (proc.returncode, proc.stdout) == (0, "6\n")
    assert "is not a socket of this user; ignored" in proc.stderr  # said only because GRADCLI_DEBUG is set


def _fake_worker(path: Path, reply: bytes) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    listener.settimeout(TIMEOUT)

    def serve():
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(1 << 20)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "reply", [b"\x00\x00\x00\x05nope!", b"\x00\x00\x00\x02[]", b""], ids=["garbled", "list", "hangs-up"]
)
def test_a_worker_that_answers_wrongly_means_a_cold_run(reply, tmp_path):
    runtime, path = _private_runtime(tmp_path)
    env = _env(runtime)
    thread = _fake_worker(path, reply)
    proc = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], env)
    thread.join(TIMEOUT)
    assert (proc.returncode, proc.stdout) == (0, "6\n")
    assert proc.stderr.startswith("gradcli: running cold: ")


def test_a_stale_socket_is_replaced_by_auto_and_idle_workers_exit(tmp_path):
    runtime, path = _private_runtime(tmp_path)
    env = _env(runtime)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a worker that died
    try:
        plain = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], env)
        assert (plain.returncode, plain.stdout) == (0, "6\n") and "running cold" in plain.stderr
        auto = {**env, "GRADCLI_WORKER": "auto", "GRADCLI_DEBUG": ""}
        proc = _gradcli(["grad", "x**2", "--at", "x=3", "--format", "plain"], auto)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "6\n", "")
        status = _status(env)
        assert status["requests"] == 1 and status["current"]
        _gradcli(["worker", "stop"], env)
        short = _start(runtime, "--idle", "0.02")  # 1.2 s
        deadline = time.monotonic() + 30
        while _status(short) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _status(short) is None
        assert not path.exists()
    finally:
        _stop(env)


# --- failure and Ctrl-C ---------------------------------------------------------------------------------------


def _busy_child(env, deadline: float) -> int:
    while time.monotonic() < deadline:
        busy = (_status(env) or {}).get("busy_pids")
        if busy:
            return busy[0]
        time.sleep(0.05)
    raise AssertionError("no request reached the worker")


LONG = ["descend", "(w - 3)**2 + sin(w)", "--from", "w=0", "--steps", "3000", "--format", "json"]


def test_a_child_killed_before_any_output_means_a_cold_run_with_the_same_result(warm, tmp_path):
    cold = _gradcli(LONG, _cold(warm))
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", *LONG], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=warm)  # fmt: skip
    os.kill(_busy_child(warm, time.monotonic() + TIMEOUT), signal.SIGKILL)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, out) == (cold.returncode, cold.stdout)
    assert err.startswith("gradcli: running cold: the worker's child stopped before any input or output")


def test_a_child_killed_after_output_began_says_so_and_exits_5(warm):
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "batch", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=warm)  # fmt: skip
    proc.stdin.write('grad "x**2" --at x=3\n')
    proc.stdin.flush()
    first = proc.stdout.readline()
    assert json.loads(first)["line"] == 1
    os.kill(_busy_child(warm, time.monotonic() + TIMEOUT), signal.SIGKILL)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 5 and out == ""  # output incomplete (exit 4 is only for gradcli's own bugs)
    assert err.startswith("error: the gradcli worker stopped in the middle of this command")


def test_ctrl_c_stops_the_request_with_exit_130_like_a_cold_call(warm):
    results = []
    for env in (_cold(warm), warm):
        proc = subprocess.Popen([sys.executable, "-m", "gradcli", "batch", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        proc.stdin.write('grad "x**2" --at x=3\n')
        proc.stdin.flush()
        first = proc.stdout.readline()  # the command is running and waiting for more stdin
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=TIMEOUT)  # stdin stays open: the interrupt, not an end of input, stops it
        out, err = proc.communicate(timeout=TIMEOUT)
        results.append((proc.returncode, first + out, err))
    assert results[1] == results[0]
    assert results[0][0] == 130


# --- the worker's own decisions, in-process -----------------------------------------------------------------


def test_the_worker_drops_a_peer_of_another_uid(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from gradcli.runtime import worker

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s"))
    listener.listen(1)
    listener.setblocking(False)
    state = SimpleNamespace(listener=listener, pending=[], stopping=False)
    with listener, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
        peer.connect(str(tmp_path / "s"))
        protocol.send_message(peer, {"op": "stop"})
        monkeypatch.setattr(protocol, "peer_uid", lambda sock: os.getuid() + 1)
        worker._accept(state)
        peer.settimeout(TIMEOUT)
        try:
            answer = peer.recv(1)
        except ConnectionResetError:  # closed with our request unread
            answer = b""
        assert answer == b""
    assert not state.stopping


def test_a_changed_installation_makes_the_worker_refuse_as_stale_and_stop():
    from types import SimpleNamespace

    from gradcli.runtime import worker

    current = client.fingerprint()
    service = SimpleNamespace(fingerprint=client.fingerprint)
    state = SimpleNamespace(fingerprint={**current, "mtime": current["mtime"] - 1}, stopping=False, service=service)
    assert worker._installation_changed(state)
    assert worker._refusal(state, current) == "stale" and state.stopping
    same = SimpleNamespace(fingerprint=current, stopping=False, service=service)
    assert worker._refusal(same, current) is None and not worker._installation_changed(same)
    other_env = {**current, "import_env": {**current["import_env"], "TF_SOMETHING": "1"}}
    assert worker._refusal(same, other_env).startswith("environment differs") and not same.stopping


def test_a_change_in_any_subpackage_changes_the_fingerprint_and_the_worker_is_replaced(tmp_path, monkeypatch):
    """The package is a tree of subpackages: an edit deep in it (lang/parser.py) must not be served stale."""
    import shutil
    from types import SimpleNamespace

    from gradcli.runtime import worker

    tree = tmp_path / "gradcli"
    shutil.copytree(protocol.PACKAGE, tree, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(protocol, "PACKAGE", str(tree))
    before = client.fingerprint()
    later = before["mtime"] + 10**9
    os.utime(tree / "lang" / "parser.py", ns=(later, later))
    edited = client.fingerprint()
    assert edited["mtime"] == later and edited != before
    state = SimpleNamespace(fingerprint=before, stopping=False, service=SimpleNamespace(fingerprint=client.fingerprint))
    assert worker._installation_changed(state)
    assert worker._refusal(state, edited) == "stale" and state.stopping  # the client then starts a fresh worker


def test_calls_at_the_same_time_each_get_their_own_child(warm):
    before = _status(warm)["requests"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gradcli", "grad", "x**2", "--at", f"x={i}", "--format", "plain"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=warm,
        )  # fmt: skip
        for i in range(4)
    ]
    results = [(p.wait(timeout=TIMEOUT), p.stdout.read(), p.stderr.read()) for p in procs]
    assert results == [(0, f"{2 * i}\n", "") for i in range(4)]
    assert _status(warm)["requests"] == before + 4


def test_the_parent_runs_no_tensorflow_operation(warm):
    """TF's thread pools start with its first operation and do not survive fork(): the parent has one thread."""
    pid = _status(warm)["pid"]
    assert len(os.listdir(f"/proc/{pid}/task")) == 1
