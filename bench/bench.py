"""gradcli's benchmark: plain Python (time, resource, subprocess), rerunnable by anyone.

Writes bench/RESULTS.md. Each figure is the median of several runs, with min and max.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(os.environ.get("GRADCLI_BENCH_RUNS", "5"))
HERE = Path(__file__).resolve().parent
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's peak RSS in MiB (each measured in a fresh child)."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)\n"
        "w = time.perf_counter() - t\n"
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([PY, "-c", wrapper, *cmd], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def series(cmd: list[str]) -> dict:
    walls, rss = zip(*(timed(cmd) for _ in range(RUNS)), strict=True)
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls), "rss": statistics.median(rss)}


def row(name: str, s: dict) -> str:
    return f"| {name} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | {s['rss']:.0f} |"


def in_process_points(n: int) -> tuple[float, float]:
    import gradcli

    points = [{"x": -3 + 6 * i / n, "y": 0.5} for i in range(n)]
    gradcli.grad("x**2*y + sin(x*y)", at=points[:2])  # warm up TensorFlow and sympy
    started = time.perf_counter()
    gradcli.grad("x**2*y + sin(x*y)", at=points)
    together = time.perf_counter() - started
    started = time.perf_counter()
    for point in points[:20]:
        gradcli.grad("x**2*y + sin(x*y)", at=point)
    one_by_one = (time.perf_counter() - started) / 20 * n
    return together, one_by_one


def main() -> None:
    gradcli = [PY, "-m", "gradcli"]
    results = {
        "gradcli --help": series([*gradcli, "--help"]),
        "python -c 'import tensorflow, sympy'": series([PY, "-c", "import tensorflow, sympy"]),
        "gradcli grad 'x**2+2*x-1' --at x=2": series([*gradcli, "grad", "x**2+2*x-1", "--at", "x=2"]),
    }
    bare = results["python -c 'import tensorflow, sympy'"]["median"]
    one = results["gradcli grad 'x**2+2*x-1' --at x=2"]["median"]
    n = 1000
    together, one_by_one = in_process_points(n)
    lines = [
        "# gradcli benchmark",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- runs per figure: {RUNS} (median, min, max wall seconds; peak RSS of the child)",
        "",
        "| command | median s | min s | max s | peak RSS MiB |",
        "|---|---|---|---|---|",
        *(row(name, s) for name, s in results.items()),
        "",
        f"- one `grad` call / bare `import tensorflow, sympy`: **{one / bare:.2f}x**",
        f"- {n} points of `x**2*y + sin(x*y)` in one call (one tape over a tensor): {together:.3f} s;"
        f" one call per point (extrapolated from 20): {one_by_one:.2f} s; ratio **{one_by_one / together:.0f}x**",
        f"- peak RSS maximum in this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        "",
    ]
    text = "\n".join(lines)
    (HERE / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
