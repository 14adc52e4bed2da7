"""The recorded CLI corpus: every self-contained call the suite makes, with what it printed and returned.

Recorded from main before the package moved into its pipeline folders (issue 18), replayed after every step:
`make corpus` compares, byte for byte, and names each call whose exit code, stdout or stderr changed.

    GRADCLI_CORPUS_RECORD=tests/snapshots/cli_corpus.jsonl python -m pytest   # record (appends)
    python -m tests.corpus                                                     # replay and compare
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

CORPUS = Path(__file__).parent / "snapshots" / "cli_corpus.jsonl"
# Environment variables a call's output depends on; the rest of the environment is the test process's.
ENV_KEYS = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "LC_ALL", "LANG")


def _self_contained(args: tuple[str, ...], stdin: str) -> bool:
    """A call that reads or writes no file the test made, so it can run again anywhere."""
    for a in (*args, stdin):
        if "/tmp" in a or "pytest-of" in a or "\\" in a and os.sep in a:
            return False
    for a in args:
        candidate = a.split("=", 1)[-1]
        if candidate and candidate not in ("-",) and len(candidate) < 256 and os.path.exists(candidate):
            return False
    return True


def record(args: tuple[str, ...], stdin: str, code: int, stdout: str, stderr: str) -> None:
    target = os.environ.get("GRADCLI_CORPUS_RECORD")
    if not target or not _self_contained(args, stdin):
        return
    env = {k: os.environ[k] for k in ENV_KEYS if k in os.environ}
    line = {"args": list(args), "stdin": stdin, "env": env, "code": code, "stdout": stdout, "stderr": stderr}
    with open(target, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def load(path: Path = CORPUS) -> list[dict]:
    seen, calls = set(), []
    for text in path.read_text(encoding="utf-8").splitlines():
        call = json.loads(text)
        key = json.dumps([call["args"], call["stdin"], call["env"]])
        if key not in seen:
            seen.add(key)
            calls.append(call)
    return calls


def replay(call: dict) -> tuple[int, str, str]:
    try:
        from gradcli.app.main import Environment, main
    except ImportError:  # main before the move
        from gradcli.app.main import Environment, main

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    try:
        for k in ENV_KEYS:
            os.environ.pop(k, None)
        os.environ.update(call["env"])
        out, err = io.StringIO(), io.StringIO()
        code = main(list(call["args"]), Environment(stdout=out, stderr=err, stdin=io.StringIO(call["stdin"])))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


def main() -> int:
    os.environ["GRADCLI_WORKER"] = "off"
    calls = load()
    changed = 0
    for call in calls:
        code, out, err = replay(call)
        if (code, out, err) != (call["code"], call["stdout"], call["stderr"]):
            changed += 1
            print(f"changed: gradcli {' '.join(call['args'])}", file=sys.stderr)
            for name, was, now in (
                ("exit", call["code"], code),
                ("stdout", call["stdout"], out),
                ("stderr", call["stderr"], err),
            ):
                if was != now:
                    print(f"  {name}: {was!r}\n     -> {now!r}", file=sys.stderr)
    print(f"{len(calls) - changed} replayed identically, {changed} changed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
