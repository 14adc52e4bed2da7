"""The soak of `gradcli serve`: GRADCLI_SOAK_REQUESTS (10,000) requests over loopback, a mix of previews,
grads, derivatives, checks and checks built to run past their time; `make bench` runs it after bench.py.

Reports p50 and p99 latency (ordinary requests apart from the slow ones), requests per second, the status
codes (no 5xx allowed), the memory of the server, the pool and its children at the start, the middle and
the end (proportional set size), and whether any process was left behind after SIGTERM. Writes its table
into bench/RESULTS.md between the serve-soak markers.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

REQUESTS = int(os.environ.get("GRADCLI_SOAK_REQUESTS", "10000"))
CLIENTS = 4
HERE = Path(__file__).resolve().parent
MIX = [  # (weight, kind, endpoint, body)
    (30, "preview", "validate", {"expression": "x^2 sin x + 1/2x"}),
    (20, "check", "check", {"expression": "sin(3*x)", "answer": "cos(3*x)"}),
    (15, "check", "check", {"expression": "x**3*exp(x)", "answer": "3*x**2*exp(x) + x**3*exp(x)"}),
    (20, "grad", "grad", {"expression": "x**2*y + sin(y)", "at": {"x": 1, "y": 2}}),
    (10, "derivative", "derivative", {"expression": "x^3 sin x"}),
    (5, "slow", "check", {"expression": "(x+1)**40*sin(x)**30*exp(x)**7", "answer": "x", "timeout": 0.3}),
]


def tree(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.split()
    children: dict[int, list[int]] = {}
    for p, parent in zip(out[::2], out[1::2], strict=True):
        children.setdefault(int(parent), []).append(int(p))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def pss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
        except (OSError, AttributeError):
            continue
    return total / 1024


def client(host: str, port: int, jobs: list, results: list) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for kind, endpoint, body in jobs:
        started = time.monotonic()
        conn.request("POST", f"/api/v1/{endpoint}", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        results.append((kind, response.status, time.monotonic() - started))


def main() -> None:
    command = [sys.executable, "-m", "gradcli", "serve", "--port", "0", "--no-open", "--children", "2"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "GRADCLI_WORKER": "off"})
    line = server.stdout.readline()
    host, port = re.match(r"gradcli serve: http://([\d.]+):(\d+)/", line).groups()
    rng = random.Random(0)
    weights = [m[0] for m in MIX]
    jobs = [rng.choices(MIX, weights)[0][1:] for _ in range(REQUESTS)]
    memory = [pss_mib(tree(server.pid))]
    results: list = []
    threads = [
        threading.Thread(target=client, args=(host, int(port), jobs[i::CLIENTS], results)) for i in range(CLIENTS)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        if len(results) >= REQUESTS // 2 and len(memory) == 1:
            memory.append(pss_mib(tree(server.pid)))
    elapsed = time.monotonic() - started
    memory.append(pss_mib(tree(server.pid)))
    pids = tree(server.pid)
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
    deadline = time.monotonic() + 10  # children still warming up when SIGTERM came take a moment to exit
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if Path(f"/proc/{p}").exists()]
    write(results, elapsed, memory, code, left)


def write(results: list, elapsed: float, memory: list, code: int, left: list) -> None:
    statuses = Counter(s for _, s, _ in results)
    ordinary = sorted(t for k, _, t in results if k != "slow")
    slow = sorted(t for k, _, t in results if k == "slow")
    preview = sorted(t for k, _, t in results if k == "preview")

    def q(values, p):
        return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else float("nan")

    rows = [
        "<!-- serve-soak -->",
        f"## gradcli serve soak ({len(results)} requests over loopback, {CLIENTS} clients, 2 warm children)",
        "",
        "| what | figure |",
        "|---|---|",
        f"| requests per second | {len(results) / elapsed:.1f} |",
        f"| ordinary requests p50 / p99 | {q(ordinary, 0.5):.0f} ms / {q(ordinary, 0.99):.0f} ms |",
        f"| previews (validate) p50 / p99 | {q(preview, 0.5):.0f} ms / {q(preview, 0.99):.0f} ms |",
        f"| slow checks (timeout 0.3 s) p50 / max | {q(slow, 0.5):.0f} ms / {slow[-1] * 1000 if slow else 0:.0f} ms |",
        f"| status codes | {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))} |",
        f"| 5xx | {sum(n for s, n in statuses.items() if s >= 500)} |",
        f"| memory (PSS of server, pool, children): start / middle / end | "
        f"{' / '.join(f'{m:.0f}' for m in memory)} MiB |",
        f"| exit code after SIGTERM | {code} |",
        f"| processes left 10 s after SIGTERM | {len(left)} |",
        f"| mean latency | {statistics.mean(t for _, _, t in results) * 1000:.0f} ms |",
        "<!-- /serve-soak -->",
    ]
    table = "\n".join(rows) + "\n"
    print(table)
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    text = re.sub(r"<!-- serve-soak -->.*<!-- /serve-soak -->\n", "", text, flags=re.S)
    path.write_text(text.rstrip("\n") + "\n\n" + table)


if __name__ == "__main__":
    main()
