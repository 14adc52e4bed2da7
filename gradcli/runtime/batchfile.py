"""gradcli batch: turn one line of a problems file into the argument list of a command."""

from __future__ import annotations

import json
import re
import shlex

from gradcli.errors import GradcliError, LimitError

COMMANDS = ("grad", "jacobian", "hessian", "check", "descend", "jvp", "vjp")
# JSON keys that are repeatable or list-valued options, and the flag each becomes
LIST_OPTIONS = {
    "const": "--const",
    "wrt": "--wrt",
    "watch": "--watch",
    "stop": "--stop",
    "of": "--of",
    "custom": "--custom",
    "range": "--range",
    "tangent": "--tangent",
}
SCALAR_OPTIONS = {
    "dtype": "--dtype", "order": "--order", "clip_value": "--clip-value",
    "clip_norm": "--clip-norm", "clip_global_norm": "--clip-global-norm",
    "answer": "--answer", "lr": "--lr", "steps": "--steps", "optimizer": "--optimizer", "tol": "--tol",
    "implicit": "--implicit", "direction": "--direction", "rtol": "--rtol", "sig_figs": "--sig-figs",
    "atol": "--atol", "points": "--points", "partial": "--partial",
    "upstream": "--upstream", "unconnected": "--unconnected",
}  # fmt: skip
FLAGS = ("persistent", "frameworks", "decimals")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


MAX_STDIN_EXPRESSION = 100_000  # characters read for `-`; the parser's own length limit applies after


def expression_from(stream) -> str:
    """The one expression on stdin (`gradcli grad - --at x=3`): a single non-empty line."""
    text = stream.read(MAX_STDIN_EXPRESSION + 1)
    if len(text) > MAX_STDIN_EXPRESSION:
        raise LimitError(f"stdin holds more than {MAX_STDIN_EXPRESSION:,} characters; give one expression")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise GradcliError("no expression on stdin (- reads one expression from stdin)")
    if len(lines) > 1:
        raise GradcliError(
            f"stdin holds {len(lines)} lines; - reads one expression (for many problems use gradcli batch -)"
        )
    return lines[0]


def arguments(line: str) -> list[str]:
    """A JSON object ({"command": "grad", "expression": ..., "at": ...}) or a command line (grad "x**2" --at x=3)."""
    text = line.strip()
    if text.startswith("{"):
        try:
            problem = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GradcliError(f"not valid JSON: {exc.msg}") from exc
        except ValueError:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
            raise LimitError("a number in the JSON problem has too many digits to read") from None
        except RecursionError:
            raise LimitError("the JSON problem is nested too deeply") from None
        return _from_json(problem)
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise GradcliError(f"cannot split the command line: {exc}") from exc
    if argv and argv[0] == "gradcli":
        argv = argv[1:]
    if not argv or argv[0] not in COMMANDS:
        raise GradcliError(f"a problem line starts with one of {', '.join(COMMANDS)}")
    if any(a in ("--format", "-f") or a.startswith("--format=") for a in argv):
        raise GradcliError("leave out --format: batch answers are always JSON lines")
    if any(a in ("--help", "-h", "--version") for a in argv):
        raise GradcliError("--help and --version do not answer a problem; leave them out")
    return argv


def _from_json(problem) -> list[str]:
    if not isinstance(problem, dict):
        raise GradcliError("a JSON problem must be an object")
    command = problem.get("command", "grad")
    if command not in COMMANDS:
        raise GradcliError(f"unknown command {command!r}: use one of {', '.join(COMMANDS)}")
    expression = problem.get("expression")
    if not isinstance(expression, str):
        raise GradcliError('a problem needs "expression" as text')
    known = {"command", "expression", "at", "from", *FLAGS, *LIST_OPTIONS, *SCALAR_OPTIONS}
    unknown = sorted(set(problem) - known)
    if unknown:
        raise GradcliError(f"unknown key(s) {', '.join(unknown)}")
    argv = [command]
    at = problem.get("at", [])
    points = at if isinstance(at, list) else [at]
    for point in points:
        argv += ["--at", _assignments(point, "at")]
    if len({tuple(sorted(p)) for p in points if isinstance(p, dict)}) > 1:
        raise GradcliError('every point in "at" must give the same names')
    if "from" in problem:
        argv += ["--from", _assignments(problem["from"], "from")]
    for key, flag in LIST_OPTIONS.items():
        value = problem.get(key)
        if value is None:
            continue
        if key in ("const", "tangent"):
            argv += [flag, _assignments(value, key)]
        else:
            for item in value if isinstance(value, list) else [value]:
                argv += [flag, str(item)]
    for key, flag in SCALAR_OPTIONS.items():
        value = problem.get(key)
        if isinstance(value, list):  # a direction [1, 1], or an answer [2*x, 2*y] or [[2, 0], [0, 2]]
            value = ",".join(map(str, value)) if key == "direction" else _bracketed(value)
        if value is not None:
            argv += [flag, str(value)]
    for flag in FLAGS:
        value = problem.get(flag, False)
        if not isinstance(value, bool):
            raise GradcliError(f'"{flag}" must be true or false')
        if value:
            argv.append(f"--{flag}")
    return [*argv, "--", expression]  # after --, an expression starting with "-" is not an option


def _assignments(values, key: str) -> str:
    """name=value,... from a JSON object; each key one name and each value one value, so a value such as
    "1,y=5" cannot smuggle in another assignment."""
    if not isinstance(values, dict):
        raise GradcliError(f'"{key}" must be an object of name -> value, or a list of them')
    parts = []
    for name, value in values.items():
        if not _NAME.match(name):
            raise GradcliError(f'"{key}": {name!r} is not a variable name')
        text = value if isinstance(value, str) else json.dumps(value)
        if not isinstance(value, (str, int, float, list)) or isinstance(value, bool) or not _one_value(text):
            raise GradcliError(f'"{key}": the value of {name} must be one number, expression or list, not {text!r}')
        parts.append(f"{name}={text}")
    return ",".join(parts)


def _one_value(text: str) -> bool:
    """No '=' and no comma outside brackets: one value, not an assignment list."""
    depth = 0
    for c in text:
        depth += (c in "([") - (c in ")]")
        if c == "=" or (c == "," and depth <= 0):
            return False
    return True


def _bracketed(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_bracketed(v) for v in value) + "]"
    return str(value)
