"""The real `gradcli serve` over loopback: the address line, an answer, SIGTERM, and nothing left behind."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.split()
    children: dict[int, list[int]] = {}
    for p, parent in zip(out[::2], out[1::2], strict=True):
        children.setdefault(int(parent), []).append(int(p))
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


@pytest.mark.slow
def test_real_server_over_loopback():
    env = {**os.environ, "GRADCLI_WORKER": "off"}
    command = [sys.executable, "-m", "gradcli", "serve", "--port", "0", "--no-open", "--children", "1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        match = re.fullmatch(r"gradcli serve: http://127\.0\.0\.1:(\d+)/\n", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=30)
        body = json.dumps({"expression": "x**2", "answer": "2*x", "timeout": 30})  # a loaded machine
        conn.request("POST", "/api/v1/check", body, {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        assert (answer["verdict"], answer["gradable"]) == ("correct", True)
        conn.request("GET", "/readyz")
        assert conn.getresponse().status == 200
        conn.close()
        family = _descendants(server.pid)
        assert family  # the pool and its warm children
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 143
        assert server.stdout.read() == ""  # the address line only
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in family if Path(f"/proc/{p}").exists()]
        assert "Traceback" not in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_other_address_warns(tmp_path):
    env = {**os.environ, "GRADCLI_WORKER": "off"}
    command = [sys.executable, "-m", "gradcli", "serve", "--host", "0.0.0.0", "--port", "0", "--no-open"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        assert line.startswith("gradcli serve: http://0.0.0.0:")
        port = int(re.search(r":(\d+)/", line).group(1))
        deadline = time.monotonic() + 60  # Ctrl-C once it serves, not while its pool is still starting
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 130
        assert server.stderr.readline().startswith("warning: gradcli serve listens on 0.0.0.0")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "error: --port 70000: give a port from 0 to 65535"),
        (["--children", "0"], "error: --children 0: give from 1 to 32"),
        (["--token", "short"], "error: --token: give at least 8 printable characters, without spaces"),
    ],
)
def test_usage_errors(cli, args, message):
    run = cli("serve", *args)
    assert (run.code, run.stdout, run.stderr.strip()) == (2, "", message)
