"""gradcli's benchmark: plain Python (time, resource, subprocess), rerunnable by anyone with `make bench`.

Measures, on this machine in one run, and writes bench/RESULTS.md:
1. `gradcli --help` wall time;
2. one `gradcli grad` against a bare `python -c "import tensorflow, sympy"`;
3. `gradcli batch` of 1,000 mixed problems against separate invocations (extrapolated from 20);
4. `--points` with 1,000,000 points against a Python loop of single-point tapes (extrapolated
   from 1,000) and against numpy evaluating sympy's lambdified derivative (the practical floor);
5. `gradcli check --file` grading a class file of 200 answers (right, wrong, rounded, malformed);
6. an invalid batch line, and 2,000 descent steps;
7. peak memory (max RSS) of each;
8. one cold `gradcli grad` with JAX made unimportable, as without the jax extra (TensorFlow imports JAX
   for TFLite when it is installed; gradcli hides it during that import);
9. the warm worker (docs/worker.md), in a private XDG_RUNTIME_DIR: a warm call against a cold one, where a
   warm call's time goes, the README's 20-call shell loop with and without a worker, the worker's memory
   at rest, `batch --jobs 2` against `--jobs 1`, and a cold call through the new entry point against the
   old one (gradcli.app.main:main called directly).
Each figure is the median of RUNS runs, with min and max. GRADCLI_BENCH_RUNS and
GRADCLI_BENCH_POINTS make it shorter for a quick look.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = int(os.environ.get("GRADCLI_BENCH_RUNS", "3"))
POINTS = int(os.environ.get("GRADCLI_BENCH_POINTS", "1000000"))
PROBLEMS = 1000
ANSWERS = 200
HERE = Path(__file__).resolve().parent
PY = sys.executable
GRADCLI = [PY, "-m", "gradcli"]
SCRIPT = str(Path(PY).with_name("gradcli"))  # the console script a user runs
OLD_ENTRY = [PY, "-c", "import sys; from gradcli.app.main import main; sys.exit(main())"]
LOOP_EXPRESSION = "sin(x)*exp(-x/5)"
EXPRESSION = "x**2*y + sin(x*y)"

# Runs a command and reports its wall time and the child's peak RSS, measured from outside.
WRAPPER = """
import resource, subprocess, sys, time
stdin = open(sys.argv[1]) if sys.argv[1] != "-" else None
t = time.perf_counter()
subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

# Timed inside one process, after imports: the work itself.
TAPE_LOOP = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
n = int(sys.argv[1])
rng = np.random.default_rng(0)
xs, ys = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
t = time.perf_counter()
for x, y in zip(xs.tolist(), ys.tolist()):
    xv, yv = tf.Variable(x, dtype=tf.float64), tf.Variable(y, dtype=tf.float64)
    with tf.GradientTape() as tape:
        f = xv**2 * yv + tf.sin(xv * yv)
    tape.gradient(f, [xv, yv])
print(time.perf_counter() - t)
"""

# The same command with JAX unimportable: what a cold grad costs without the jax extra.
WITHOUT_JAX = "import sys, runpy; sys.modules['jax'] = None; sys.argv[0] = 'gradcli'; runpy.run_module('gradcli')"

LAMBDIFY = """
import sys, time
import numpy as np, sympy
n = int(sys.argv[1])
rng = np.random.default_rng(0)
xs, ys = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
x, y = sympy.symbols("x y", real=True)
f = x**2 * y + sympy.sin(x * y)
derivative = sympy.lambdify((x, y), [sympy.diff(f, x), sympy.diff(f, y)], "numpy")
t = time.perf_counter()
derivative(xs, ys)
print(time.perf_counter() - t)
"""

IN_MEMORY = """
import sys, time
import numpy as np
from gradcli.solve import points as many
from gradcli.witnesses import symbolic
from gradcli.witnesses.tape import tensorflow
tensorflow()
n, chunk = int(sys.argv[1]), 100_000
rng = np.random.default_rng(0)
values = np.column_stack([rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)])
problem = many.prepare_points("x**2*y + sin(x*y)", ["x", "y"])
blocks = [many.Block(np.arange(i, min(i + chunk, n)), values[i : i + chunk]) for i in range(0, n, chunk)]
t = time.perf_counter()
for _ in many.grad_points(problem, ["x", "y"], iter(blocks)):
    pass
print(time.perf_counter() - t)
"""


def timed(cmd: list[str], stdin: str = "-", env: dict | None = None) -> tuple[float, float]:
    wrapper = [PY, "-c", WRAPPER, stdin, *cmd]
    out = subprocess.run(wrapper, capture_output=True, text=True, check=True, env=env).stdout.split()
    return float(out[0]), float(out[1])


def series(cmd: list[str], stdin: str = "-", runs: int = RUNS, env: dict | None = None) -> dict:
    walls, rss = zip(*(timed(cmd, stdin, env) for _ in range(runs)), strict=True)
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls), "rss": max(rss)}


def inner(script: str, *args: str, runs: int = RUNS) -> dict:
    walls = [
        float(subprocess.run([PY, "-c", script, *args], capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    ]
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls), "rss": float("nan")}


def row(name: str, s: dict) -> str:
    rss = "" if s["rss"] != s["rss"] else f"{s['rss']:.0f}"
    return f"| {name} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | {rss} |"


def problems_file(path: Path) -> None:
    random.seed(0)
    functions = ["x**2*y + sin(x*y)", "exp(-x)*cos(y)", "sigmoid(x)*y", "log(1 + x**2) + y**3", "sqrt(1 + x*x*y*y)"]
    lines = []
    for i in range(PROBLEMS):
        f = functions[i % len(functions)]
        kind = ("grad", "grad", "jacobian", "hessian")[i % 4]
        x, y = round(random.uniform(-2, 2), 3), round(random.uniform(-2, 2), 3)
        lines.append(f'{kind} "{f if kind != "jacobian" else f"[{f}, x*y]"}" --at x={x},y={y}')
    path.write_text("\n".join(lines) + "\n")


def class_file(path: Path) -> None:
    """A chapter's exercises answered by a class: right, equivalent, classic mistakes, rounded, malformed.
    The exercises take a parameter k, so few rows repeat (a repeated row is graded once)."""
    exercises = [
        ("sin({k}*x)", ["{k}*cos({k}*x)", "cos({k}*x)", "-{k}*cos({k}*x)"]),
        ("x**{k}*exp(x)", ["(x**{k} + {k}*x**({k}-1))*exp(x)", "{k}*x**({k}-1)*exp(x)", "x**{k}*exp(x)"]),
        ("x/({k} + x)", ["{k}/({k} + x)**2", "-{k}/({k} + x)**2", "{k}/({k} + x)"]),
        ("log(x - {k}00)", ["1/(x - {k}00)", "1/(x + {k}00)", "1/x"]),
        ("sqrt(x - {k})", ["1/(2*sqrt(x - {k}))", "1/sqrt(x - {k})", "sqrt(x - {k})/2"]),
        ("{k}**x", ["{k}**x*log({k})", "x*{k}**(x - 1)", "{k}**x"]),
        ("x**3 - {k}*x", ["3*x**2 - {k}", "3*x**3 - {k}*x", "3*x**2"]),
        ("tan({k}*x)", ["{k}/cos({k}*x)**2", "{k}*(1 + tan({k}*x)**2)", "1/cos({k}*x)**2"]),
    ]
    random.seed(1)
    lines = ["student,expression,wrt,answer,at"]
    for i in range(ANSWERS):
        expression, answers = exercises[i % len(exercises)]
        k = 2 + (i // len(exercises)) % 8
        answer = random.choice(answers).format(k=k)
        if i % 25 == 7:
            lines.append(f"s{i},max(x, {k}),,1,")  # unquoted comma: reported, not graded
        elif i % 10 == 3:
            lines.append(f"s{i},x**3,,{3 * k * k}.0,x={k}")  # a number at a point
        else:
            lines.append(f's{i},"{expression.format(k=k)}",,"{answer}",')
    path.write_text("\n".join(lines) + "\n")


def points_file(path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(-2, 2, POINTS), rng.uniform(-2, 2, POINTS)
    with path.open("w") as out:
        out.write("x,y\n")
        for i in range(0, POINTS, 100_000):
            pairs = zip(xs[i : i + 100_000].tolist(), ys[i : i + 100_000].tolist(), strict=True)
            out.write("".join(f"{a!r},{b!r}\n" for a, b in pairs))


# The notation and LaTeX readers, in process: textbook text and pasted LaTeX, each parsed n times.
PARSE = """
import sys, time
from gradcli.lang.parser import parse
n = int(sys.argv[1])
texts = ["sin^2 x + |x^2 - 4| + x² ln x - √(x+1)/2x", r"\\frac{1}{2}x^{2}e^{-x^2} + \\sqrt[3]{x}\\sin^{2}(x)"]
t = time.perf_counter()
for _ in range(n):
    for text in texts:
        parse(text)
print((time.perf_counter() - t) / (2 * n) * 1000)
"""


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gradcli-bench-"))
    problems, points = work / "problems.txt", work / "points.csv"
    problems_file(problems)
    points_file(points)
    answers = work / "answers.csv"
    class_file(answers)
    single = ["grad", "x**2+2*x-1", "--at", "x=2"]
    r = {
        "help": series([*GRADCLI, "--help"], runs=max(RUNS, 5)),
        "bare": series([PY, "-c", "import tensorflow, sympy"]),
        "single": series([*GRADCLI, *single]),
        "no_jax": series([PY, "-c", WITHOUT_JAX, *single]),
    }
    r["separate"] = series([*GRADCLI, *single[:1], "x**2*y + sin(x*y)", "--at", "x=0.5,y=1"], runs=20)
    r["batch"] = series([*GRADCLI, "batch", str(problems), "--jobs", "1"])
    r["batch2"] = series([*GRADCLI, "batch", str(problems), "--jobs", "2"])
    r["class"] = series([*GRADCLI, "check", "--file", str(answers), "--format", "csv"])
    r["points"] = series([*GRADCLI, "grad", EXPRESSION, "--points", str(points), "--format", "csv"])
    r["in_memory"] = inner(IN_MEMORY, str(POINTS))
    r["tape_loop"] = inner(TAPE_LOOP, "1000")
    r["lambdify"] = inner(LAMBDIFY, str(POINTS))
    invalid = work / "invalid.txt"
    invalid.write_text('grad "x**" --at x=1\n' * PROBLEMS)
    r["invalid"] = series([*GRADCLI, "batch", str(invalid)])
    r["descend"] = series([*GRADCLI, "descend", "(w - 3)**2 + sin(w)", "--from", "w=0", "--steps", "2000"])
    r["derivative"] = series([*GRADCLI, "grad", "x^3*sin(x)"])
    r["parse_ms"] = inner(PARSE, "500")

    jax_state = "JAX installed" if importlib.util.find_spec("jax") else "JAX not installed"
    w = warm_figures(work)
    batch_per_problem = (r["batch"]["median"] - r["single"]["median"]) / PROBLEMS  # less one call's start-up
    invalid_per_line = (r["invalid"]["median"] - r["help"]["median"]) / PROBLEMS
    separate_total = r["separate"]["median"] * PROBLEMS
    loop_total = r["tape_loop"]["median"] * POINTS / 1000
    lines = [
        "# gradcli benchmark",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- runs per figure: {RUNS} (median, min, max wall seconds; peak RSS of the child in MiB)",
        f"- reproduce: `make bench` ({POINTS:,} points, {PROBLEMS:,} problems)",
        "",
        "| what | median s | min s | max s | peak RSS MiB |",
        "|---|---|---|---|---|",
        row("`gradcli --help`", r["help"]),
        row("`python -c 'import tensorflow, sympy'`", r["bare"]),
        row(f"`gradcli grad 'x**2+2*x-1' --at x=2` ({jax_state})", r["single"]),
        row("the same, JAX unimportable (as without the jax extra)", r["no_jax"]),
        row("one `gradcli grad` invocation (20 runs)", r["separate"]),
        row(f"`gradcli batch --jobs 1` of {PROBLEMS:,} mixed problems", r["batch"]),
        row(f"`gradcli batch --jobs 2` of {PROBLEMS:,} mixed problems", r["batch2"]),
        row(f"`gradcli grad --points` {POINTS:,} points, CSV in and out", r["points"]),
        row(f"`gradcli check --file`: a class file of {ANSWERS} answers", r["class"]),
        row(f"the same {POINTS:,} points in memory (library, after imports)", r["in_memory"]),
        row("Python loop of single-point tapes, 1,000 points (after imports)", r["tape_loop"]),
        row(f"numpy on sympy's lambdified derivative, {POINTS:,} points (after imports)", r["lambdify"]),
        row(f"`gradcli batch` of {PROBLEMS:,} invalid lines", r["invalid"]),
        row("`gradcli descend` 2,000 steps", r["descend"]),
        row("`gradcli grad 'x^3*sin(x)'` (no point: formula, checked at 5 points)", r["derivative"]),
        row("one textbook or LaTeX parse, milliseconds (not seconds), after imports", r["parse_ms"]),
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| `--help` median <= 0.3 s | {r['help']['median']:.3f} s | {_yes(r['help']['median'] <= 0.3)} |",
        _ratio_row("one grad / bare import <= 1.15", r["single"]["median"] / r["bare"]["median"], 1.15, "<="),
        _ratio_row(
            f"batch vs {PROBLEMS:,} separate calls >= 50x (separate extrapolated from 20)",
            separate_total / r["batch"]["median"],
            50,
            ">=",
        ),
        f"| batch: amortised time per problem | {batch_per_problem * 1000:.1f} ms | |",
        f"| batch: time per invalid line | {invalid_per_line * 1000:.2f} ms | |",
        f"| grading {ANSWERS} answers < 60 s | {r['class']['median']:.1f} s | {_yes(r['class']['median'] < 60)} |",
        _ratio_row(
            "--points vs single-point tape loop >= 100x (loop extrapolated from 1,000)",
            loop_total / r["points"]["median"],
            100,
            ">=",
        ),
        _ratio_row(
            "--points (CLI, CSV I/O) / lambdify floor <= 3", r["points"]["median"] / r["lambdify"]["median"], 3, "<="
        ),
        _ratio_row(
            "--points in memory / lambdify floor <= 3", r["in_memory"]["median"] / r["lambdify"]["median"], 3, "<="
        ),
        f"| peak RSS: one grad vs bare import | {r['single']['rss']:.0f} vs {r['bare']['rss']:.0f} MiB | |",
        f"| peak RSS: --points {POINTS:,} (chunks of 10,000) | {r['points']['rss']:.0f} MiB | |",
        _ratio_row("batch --jobs 2 vs --jobs 1 >= 1.7x", r["batch"]["median"] / r["batch2"]["median"], 1.7, ">="),
        "",
        *warm_lines(w),
    ]
    text = "\n".join(lines)
    (HERE / "RESULTS.md").write_text(text)
    print(text)


# Where a warm call's time goes, seen from a client in one process: start-up and import of the client,
# connecting (and checking the peer), the worker handing the request to a warm child, and the command.
PHASES = """
import json, sys, time
t0 = time.perf_counter()
from gradcli.app import client
t1 = time.perf_counter()
sock = client.connect(client.socket_path(client.runtime_dir(False)))
t2 = time.perf_counter()
reply = client._send_run(sock, sys.argv[1:])
t3 = time.perf_counter()
code = client._follow(sock, reply)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "connect": t2 - t1, "handed": t3 - t2, "command": t4 - t3}), file=sys.stderr)
"""


def warm_figures(work: Path) -> dict:
    """Start a worker in a private runtime directory, measure it, stop it."""
    import json
    import time

    runtime = work / "runtime"
    runtime.mkdir(mode=0o700)
    warm = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    warm.pop("GRADCLI_WORKER", None)
    cold = {**warm, "GRADCLI_WORKER": "off"}
    call = [SCRIPT, "grad", LOOP_EXPRESSION, "--at", "x=2", "--format", "plain"]
    loop = f'for x in $(seq 1 20); do {SCRIPT} grad "{LOOP_EXPRESSION}" --at x=$x --format plain; done'
    r = {"cold": series(call, runs=max(RUNS, 5), env=cold), "old_entry": series(OLD_ENTRY + call[1:], env=cold)}
    r["cold_new_entry"] = series(call, env=cold)  # beside old_entry, same number of runs
    r["cold_loop"] = series(["bash", "-c", loop], runs=1, env=cold)
    started = time.perf_counter()
    subprocess.run([SCRIPT, "worker", "start"], env=warm, check=True, capture_output=True)
    r["start"] = time.perf_counter() - started
    try:
        time.sleep(5)  # the pool's children warm up
        r["rest"] = _status(warm)
        r["warm"] = series(call, runs=30, env=warm)
        r["warm_loop"] = series(["bash", "-c", loop], runs=max(RUNS, 3), env=warm)
        phases = []
        for _ in range(15):
            proc = subprocess.run([PY, "-c", PHASES, *call[1:]], env=warm, capture_output=True, text=True, check=True)
            phases.append(json.loads(proc.stderr.strip().splitlines()[-1]))
            time.sleep(0.3)
        r["phases"] = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        r["after"] = _status(warm)
    finally:
        subprocess.run([SCRIPT, "worker", "stop"], env=warm, capture_output=True)
    return r


def _status(env: dict) -> dict:
    import json

    code = "import json; from gradcli.app import client; print(json.dumps(client.worker_status()))"
    return json.loads(subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)


def warm_lines(w: dict) -> list[str]:
    rest, phases = w["rest"], w["phases"]
    speedup = w["cold"]["median"] / w["warm"]["median"]
    loop_speedup = w["cold_loop"]["median"] / w["warm_loop"]["median"]
    return [
        "## The warm worker",
        "",
        "| what | median s | min s | max s | peak RSS MiB |",
        "|---|---|---|---|---|",
        row(f"cold `gradcli grad '{LOOP_EXPRESSION}' --at x=2 --format plain`", w["cold"]),
        row("the same call, warm (30 calls in a row)", w["warm"]),
        row("the same call, cold, through the old entry point (gradcli.app.main:main)", w["old_entry"]),
        row("the same call, cold, through the new entry point (gradcli.app.entry:main)", w["cold_new_entry"]),
        row("README's 20-call shell loop, no worker (1 run)", w["cold_loop"]),
        row("README's 20-call shell loop, with a worker", w["warm_loop"]),
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| warm call median <= 0.25 s | {w['warm']['median']:.3f} s | {_yes(w['warm']['median'] <= 0.25)} |",
        _ratio_row("warm call >= 10x faster than cold", speedup, 10, ">="),
        _ratio_row("20-call loop with a worker >= 8x faster", loop_speedup, 8, ">="),
        _ratio_row(
            "cold call, new entry / old entry <= 1.05",
            w["cold_new_entry"]["median"] / w["old_entry"]["median"],
            1.05,
            "<=",
        ),
        f"| `gradcli worker start` until it answers | {w['start']:.2f} s | |",
        "| warm call, where the time goes (medians of 15, in-process client) | "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in phases.items())
        + " | |",
        f"| worker at rest: parent + {rest['ready']} warm children, proportional set size (PSS) | "
        f"{rest['memory_mib']['pss']:.0f} MiB (RSS summed: {rest['memory_mib']['rss']:.0f} MiB) | |",
        f"| worker after {w['after']['requests']} requests | {w['after']['memory_mib']['pss']:.0f} MiB PSS | |",
        "",
    ]


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _ratio_row(label: str, value: float, target: float, sense: str) -> str:
    ok = value <= target if sense == "<=" else value >= target
    return f"| {label} | {value:.2f}x | {_yes(ok)} |"


if __name__ == "__main__":
    main()
