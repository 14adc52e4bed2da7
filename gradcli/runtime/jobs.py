"""gradcli batch --jobs N: the problems spread over this process and N-1 helpers, answers in input order.

This process answers problems itself from the first line on; when many problems wait, it starts the helpers
(the command is the caller's, gradcli.app.batch_helper, whose loop is `serve`), which import TensorFlow and
sympy and get work once they say they are ready. So a short batch, or one run by a warm worker, costs what
--jobs 1 costs, and a long one uses every core. Each problem is answered by the same function whichever
process runs it (`answer(number, line, shared)`), so each line's answer is the same as with --jobs 1. A
helper that dies has its problems answered here instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence

AHEAD = 2  # problems handed to a helper before its first answer comes back
# Helpers start only once this many problems wait: a helper's imports cost about as much as 60 problems, so
# a short batch (or one trickling in on stdin) is answered here alone, as with --jobs 1.
SPAWN_AFTER = 100
LINE, END, FAILED = object(), object(), object()  # what the input thread says


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Helper:
    """One helper process, and a thread that turns its answers into events on the shared queue."""

    def __init__(self, events: queue.Queue, command: Sequence[str], pass_fds: Sequence[int] = ()):
        self.process = subprocess.Popen(
            list(command),
            pass_fds=tuple(pass_fds),  # the batch's allowed directories, by the same numbers as here
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self.ready = False
        self.alive = True
        self.outstanding: dict[int, tuple[int, str]] = {}
        threading.Thread(target=self._read, args=(events,), daemon=True).start()

    def _read(self, events: queue.Queue) -> None:
        for text in self.process.stdout:
            events.put((self, json.loads(text)))
        events.put((self, None))

    def give(self, index: int, number: int, line: str, shared: dict) -> bool:
        try:
            task = {"index": index, "number": number, "line": line, "shared": shared}
            self.process.stdin.write(json.dumps(task) + "\n")
            self.process.stdin.flush()
        except OSError:
            return False
        self.outstanding[index] = (number, line)
        return True

    def close(self) -> None:
        """Every problem is answered by now: a helper still importing, or idle, has nothing left to do."""
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def run(
    lines: Iterable[tuple[int, str]], jobs: int, answer: Callable, write: Callable, shared: dict, helper: Sequence[str]
) -> int:
    """Answer every (number, line) with answer(number, line, shared), writing each answer in input order; the
    highest exit code. A line that is not text (a line the reader could not decode) is answered here. `helper`
    is the command that starts a helper process (one that runs `serve` with the same `answer`)."""
    events: queue.Queue = queue.Queue()
    slots = threading.BoundedSemaphore(SPAWN_AFTER + 8 * jobs)  # lines read, not yet written: bounded memory
    threading.Thread(target=_feed, args=(lines, events, slots), daemon=True).start()
    helpers: list[Helper] = []
    todo: deque[tuple[int, int, str]] = deque()  # (index, number, line) not yet given to anyone
    done: dict[int, tuple[int, str]] = {}
    state = {"more": True, "count": 0}
    next_out, worst = 0, 0
    try:
        while state["more"] or todo or any(h.outstanding for h in helpers):
            _events(events, state, todo, done, block=not todo)
            if not helpers and len(todo) > SPAWN_AFTER:
                descriptors = [shared[key] for key in ("output_fd", "data_fd") if shared.get(key) is not None]
                helpers = [Helper(events, helper, descriptors) for _ in range(jobs - 1)]
            _hand_out(helpers, todo, shared)
            if todo:
                index, number, line = todo.popleft()
                done[index] = answer(number, line, shared)
            while next_out in done:
                code, text = done.pop(next_out)
                write(text)
                slots.release()
                worst = max(worst, code)
                next_out += 1
        if "failed" in state:
            raise state["failed"]
    finally:
        for helper in helpers:
            helper.close()
    return worst


def _feed(lines: Iterable[tuple[int, str]], events: queue.Queue, slots: threading.BoundedSemaphore) -> None:
    """Read the input in a thread, so that a slow producer never holds back answers already computed."""
    try:
        for item in lines:
            slots.acquire()
            events.put((LINE, item))
    except BaseException as exc:  # an unreadable input ends the batch as it would with --jobs 1
        events.put((FAILED, exc))
        return
    events.put((END, None))


def _events(events: queue.Queue, state: dict, todo: deque, done: dict, block: bool) -> None:
    """Take every event already there; wait for one only when there is nothing to answer here."""
    while True:
        try:
            source, message = events.get(block=block)
        except queue.Empty:
            return
        block = False
        if source is LINE:
            todo.append((state["count"], *message))
            state["count"] += 1
        elif source is END:
            state["more"] = False
        elif source is FAILED:  # raised once every line read before it is answered, as --jobs 1 would
            state["more"], state["failed"] = False, message
        elif message is None:  # the helper ended: its unanswered problems come back here
            source.alive = False
            todo.extendleft(sorted(((i, *task) for i, task in source.outstanding.items()), reverse=True))
            source.outstanding.clear()
        elif message.get("ready"):
            source.ready = True
        else:
            source.outstanding.pop(message["index"], None)
            done[message["index"]] = (message["code"], message["text"])


def _hand_out(helpers: list[Helper], todo: deque, shared: dict) -> None:
    for helper in helpers:
        room = helper.ready and helper.alive
        while todo and isinstance(todo[0][2], str) and room and len(helper.outstanding) < AHEAD:
            if not helper.give(*todo[0], shared):
                helper.alive = False
                break
            todo.popleft()


def serve(answer: Callable, warm_imports: Callable[[], None]) -> None:
    """A helper: import once, say ready, then answer problems from stdin with `answer` until it closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle; it closes our stdin
    warm_imports()
    print(json.dumps({"ready": True}), flush=True)
    for text in sys.stdin:
        task = json.loads(text)
        code, reply = answer(task["number"], task["line"], task["shared"])
        print(json.dumps({"index": task["index"], "code": code, "text": reply}), flush=True)
