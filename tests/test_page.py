"""The page of `gradcli serve` in a real headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

The server is the real command, `python -m gradcli serve --port 0 --no-open`, read from the address line it
prints; GRADCLI_PAGE_SERVER (a command line) runs another server that prints the same line instead. Without
Chromium or the playwright package these tests skip and say why; GRADCLI_REQUIRE_BROWSER=1 (set by .ci/run)
makes that a failure. GRADCLI_PAGE_SCREENSHOTS=DIR keeps the screenshots (docs/page.png is one of them).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# What Chromium needs headless on this machine, and nothing that phones home (see .ci/run).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADDRESS = re.compile(r"^gradcli serve: (http://127\.0\.0\.1:(\d+)/)$")
START_TIMEOUT = 120  # s: the server may warm its children before it prints its address
RESULT_TIMEOUT = 60_000  # ms: the first gradient loads TensorFlow in a child


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is absent (Debian: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason and os.environ.get("GRADCLI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GRADCLI_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
    if reason:
        pytest.skip(f"browser tests of the page skipped: {reason}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=RESULT_TIMEOUT)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base address of a running server; it is stopped by SIGINT afterwards, killed if it lingers."""
    override = os.environ.get("GRADCLI_PAGE_SERVER")
    command = shlex.split(override) if override else [sys.executable, "-m", "gradcli", "serve", "--port", "0"]
    if not override:
        command.append("--no-open")
    log = (tmp_path_factory.mktemp("server") / "stderr.txt").open("w", buffering=1)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # the server ended without an address line

    threading.Thread(target=read, daemon=True).start()
    try:
        first = lines.get(timeout=START_TIMEOUT).rstrip("\n")
    except queue.Empty:
        first = ""
    try:
        match = ADDRESS.match(first)
        said = Path(log.name).read_text()[-2000:]
        assert match, f"{shlex.join(command)} printed {first!r}, not `gradcli serve: http://127.0.0.1:PORT/`; {said}"
        assert match.group(2) != "0", "with --port 0 the line shows the port the OS picked"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@dataclass
class Harness:
    page: object
    base: str
    shots: Path
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # console errors a test provokes on purpose

    def open(self):
        self.page.goto(self.base)
        self.page.wait_for_selector("html[data-ready]")

    def type_expression(self, text: str):
        box = self.page.locator("#expression")
        box.click()
        box.press_sequentially(text, delay=40)

    def shoot(self, name: str):
        path = self.shots / name
        self.page.screenshot(path=str(path), full_page=True)
        keep = os.environ.get("GRADCLI_PAGE_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / name)
        return path


def _typing(message) -> bool:
    """Half-typed text does not parse: Chromium logs each 400 of /validate, which the preview shows in words."""
    return "status of 400" in message.text and message.location.get("url", "").endswith("/api/v1/validate")


def _harness(browser, server, tmp_path, **context):
    ctx = browser.new_context(**context)
    host = urlsplit(server).netloc
    h = Harness(ctx.new_page(), server, tmp_path)

    def route(route):
        if urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            h.outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", route)
    h.page.on("console", lambda m: m.type == "error" and not _typing(m) and h.errors.append(m.text))
    h.page.on("pageerror", lambda e: h.errors.append(f"uncaught: {e}"))
    return ctx, h


@pytest.fixture
def h(browser, server, tmp_path):
    ctx, harness = _harness(browser, server, tmp_path, viewport={"width": 1100, "height": 900})
    yield harness
    ctx.close()
    assert harness.outside == [], f"requests left the loopback server: {harness.outside}"
    unexpected = [e for e in harness.errors if not any(re.search(a, e) for a in harness.allowed)]
    assert unexpected == [], f"console errors: {unexpected}"


@pytest.fixture
def phone(browser, server, tmp_path):
    ctx, harness = _harness(browser, server, tmp_path, viewport={"width": 390, "height": 844}, is_mobile=True)
    yield harness
    ctx.close()
    assert harness.outside == [] and harness.errors == []


def _expect():
    from playwright.sync_api import expect

    return expect


def test_preview_derivative_table_and_graph(h):
    expect = _expect()
    h.open()
    h.type_expression("x^3 sin x")
    expect(h.page.locator("#preview code")).to_have_text("x**3*sin(x)")
    expect(h.page.locator("#preview math")).to_have_count(1)  # the typeset reading, MathML
    expect(h.page.locator("#derivative code").first).to_have_text("x**2*(x*cos(x) + 3*sin(x))")
    expect(h.page.locator("#derivative .status")).to_contain_text("they agree")
    h.page.locator("#at-x").fill("2")
    table = h.page.locator("#table-out table")
    expect(table.locator("caption")).to_have_text("At x = 2: f = 7.274379415")
    expect(table.locator("tbody tr td").nth(0)).to_have_text("7.58239443")  # GradientTape
    expect(table.locator("tbody tr td").nth(3)).to_contain_text("7.58239443±")  # finite differences, error bar
    expect(table.locator("tbody tr td").nth(4)).to_have_text("yes")
    expect(h.page.locator("#table-out .status")).to_contain_text("All three methods agree")
    curve = h.page.locator("#graph svg path[data-curve=f]")
    expect(curve).to_have_count(1)
    assert curve.get_attribute("d").count("L") > 150, "f is drawn through the samples"
    expect(h.page.locator("#graph svg path[data-curve=df]")).to_have_count(1)
    expect(h.page.locator("#graph-summary")).to_contain_text("At x = 2 (the dot), f = 7.274 and the tangent")
    expect(h.page.locator("#graph-summary")).to_contain_text("slope 7.582")
    h.shoot("page.png")  # docs/page.png, the README's picture


def test_reading_notes_and_latex_in_the_preview(h):
    expect = _expect()
    h.open()
    h.type_expression(r"\frac{1}{2}x^{2} + \sin^{2}(x)")
    expect(h.page.locator("#preview code")).to_have_text("1/2*x**2 + sin(x)**2")
    h.page.locator("#expression").fill("")
    h.type_expression("1/2x")
    expect(h.page.locator("#preview .note")).to_contain_text("note:")


def test_steps_only_when_asked_and_present(h):
    expect = _expect()
    h.open()
    h.type_expression("sin(3x)")
    expect(h.page.locator("#derivative code").first).to_have_text("3*cos(3*x)")
    expect(h.page.locator("#steps-out")).to_be_empty()
    h.page.locator("#steps").check()
    expect(h.page.locator("#steps-out h3")).to_have_text("Steps")
    expect(h.page.locator("#steps-out li").last).to_contain_text("3*cos(3*x)")


def test_moving_the_point_updates_table_and_tangent(h):
    expect = _expect()
    h.open()
    h.type_expression("x^2")
    caption = h.page.locator("#table-out caption")
    expect(caption).to_have_text("At x = 1: f = 1")
    tangent = h.page.locator("#graph svg line[data-slope]")
    expect(tangent).to_have_attribute("data-slope", "2")
    h.page.locator("#slider").focus()
    for _ in range(10):  # 10 of the 200 steps of [-5, 5]: x = 1.5
        h.page.keyboard.press("ArrowRight")
    expect(h.page.locator("#slider-value")).to_have_text("x = 1.5")
    expect(caption).to_have_text("At x = 1.5: f = 2.25")
    expect(tangent).to_have_attribute("data-slope", re.compile(r"^3(\.0*\d?)?$|^2\.99999"))
    h.page.locator("#graph svg").scroll_into_view_if_needed()
    box = h.page.locator("#graph svg").bounding_box()
    width = float(h.page.locator("#graph svg").get_attribute("viewBox").split()[2])  # margins 48 and 12
    plot_left, plot_right = box["x"] + box["width"] * 48 / width, box["x"] + box["width"] * (width - 12) / width
    h.page.mouse.click(plot_left + (plot_right - plot_left) * 0.25, box["y"] + box["height"] / 2)  # x = -2.5
    expect(h.page.locator("#slider-value")).to_have_text("x = −2.5")
    expect(caption).to_have_text("At x = -2.5: f = 6.25".replace("-", "−"))
    expect(tangent).to_have_attribute("data-slope", "-5")


def test_wrong_answer_shows_verdict_counterexample_and_named_mistake(h):
    expect = _expect()
    h.open()
    h.type_expression("sin(3x)")
    expect(h.page.locator("#preview code")).to_have_text("sin(3*x)")
    expect(h.page.locator("#check-card")).to_be_visible()
    h.page.locator("#answer").fill("cos(3x)")
    h.page.locator("#check-button").click()
    out = h.page.locator("#check-out")
    expect(out.locator(".verdict")).to_have_text("Not correct")
    expect(out.locator(".mistake")).to_have_text(
        "Likely mistake: the chain rule: d/dx sin(3*x) needs the inner derivative 3 (step 3)"
    )
    expect(out.locator(".counterexample")).to_have_text(
        "At x = −1.446812441 your answer gives −0.3634343257; the derivative is −1.090302977."
    )
    expect(out).to_contain_text("3*cos(3*x)")
    expect(out).to_contain_text("judged by")
    h.shoot("check.png")
    h.page.locator("#answer").fill("3cos(3x)")
    h.page.locator("#answer").press("Enter")
    expect(out.locator(".verdict")).to_have_text("Correct")


def test_a_kink_is_explained_in_words(h):
    expect = _expect()
    h.open()
    h.type_expression("abs(x)")
    h.page.locator("#at-x").fill("0")
    expect(h.page.locator("#table-out .status")).to_contain_text("Not differentiable here")
    expect(h.page.locator("#table-out .note-undefined")).to_contain_text("the derivative does not exist")
    expect(h.page.locator("#graph-notes li")).not_to_have_count(0)
    expect(h.page.locator("#graph-summary")).to_contain_text("no tangent")


def test_invalid_input_is_said_in_words(h):
    expect = _expect()
    h.open()
    h.type_expression("2x +")
    problem = h.page.locator("#preview .problem")
    expect(problem).to_contain_text("gradcli cannot read this:")
    expect(problem).to_contain_text("something is missing after it")
    expect(h.page.locator("#preview .caret")).to_have_text("2x +\n   ^")


def test_undecided_took_too_long_and_a_dead_server_are_said_in_words(h):
    expect = _expect()
    h.allowed.append("ERR_FAILED")
    slow = (
        '{"correct": false, "verdict": "undecided", "expression": "x", "kind": "derivative", "order": 1,'
        ' "wrt": ["x"], "derivative": "1", "answer": "1", "method": "symbolic", "reason": "took too long",'
        ' "tolerance": {"rule": "exact", "rtol": 1e-10, "atol": null, "decimals": null, "sig_figs": null},'
        ' "counterexample": null, "mistake": null, "at": {}, "exit_code": 1, "gradable": false,'
        ' "feedback": "took too long"}'
    )
    h.page.route("**/api/v1/check", lambda r: r.fulfill(status=200, content_type="application/json", body=slow))
    h.open()
    h.type_expression("x")
    h.page.locator("#answer").fill("1")
    h.page.locator("#check-button").click()
    expect(h.page.locator("#check-out .verdict")).to_have_text("Undecided: this took too long")
    expect(h.page.locator("#check-out")).to_contain_text("could not decide in the time allowed")
    h.page.route("**/api/v1/grad", lambda r: r.abort())
    h.page.locator("#at-x").fill("3")
    expect(h.page.locator("#table-out .problem")).to_have_text(
        "No table at this point: The gradcli server is not answering. Is `gradcli serve` still running?"
    )


def test_keyboard_only(h):
    expect = _expect()
    h.open()
    h.page.keyboard.press("Tab")
    assert h.page.evaluate("document.activeElement.className") == "skip"
    h.page.keyboard.press("Tab")
    assert h.page.evaluate("document.activeElement.id") == "expression"
    h.page.keyboard.type("x^2", delay=40)
    expect(h.page.locator("#table-out caption")).to_have_text("At x = 1: f = 1")
    order = []
    for _ in range(11):
        h.page.keyboard.press("Tab")
        order.append(h.page.evaluate("document.activeElement.id || document.activeElement.getAttribute('aria-label')"))
    assert order == [
        "latex", "order", "steps", "at-x", "slider", "the three methods at the point",
        "range-lo", "range-hi", "answer", "check-at", "check-button",
    ]  # fmt: skip
    h.page.keyboard.press("Shift+Tab")
    h.page.keyboard.press("Shift+Tab")
    h.page.keyboard.type("x", delay=20)  # into the answer box: 2x is right, x is not
    h.page.keyboard.press("Enter")
    expect(h.page.locator("#check-out .verdict")).to_have_text("Not correct")
    for region in ("#preview", "#derivative", "#table-out", "#check-out"):
        assert h.page.locator(region).get_attribute("aria-live") == "polite"
    graph = h.page.locator("#graph svg")
    assert graph.get_attribute("role") == "img"
    expect(h.page.locator("#graph-desc")).to_contain_text("f = x**2 (solid line) and its derivative f′ (dashed line)")
    for box in h.page.locator("input, select").all():
        assert box.evaluate("e => e.labels.length > 0"), box.evaluate("e => e.outerHTML")


def test_readable_at_a_phones_width(phone):
    expect = _expect()
    phone.open()
    phone.type_expression("x^3 sin x")
    expect(phone.page.locator("#graph svg path[data-curve=f]")).to_have_count(1)
    expect(phone.page.locator("#table-out table")).to_have_count(1)
    widths = phone.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at 390 px: {widths}"
    phone.shoot("phone.png")


def test_no_request_leaves_the_loopback_server(h):
    h.open()
    h.type_expression("x^2")
    h.page.wait_for_selector("#graph svg")
    h.page.wait_for_load_state("networkidle")
    links = h.page.evaluate("[...document.querySelectorAll('[src], [href]')].map(e => e.src || e.href)")
    assert all(u.startswith(h.base) for u in links), links
    assert h.outside == []
    with pytest.raises(Exception, match="ERR_FAILED"):  # the guard itself: an outside address is caught
        h.page.goto("http://outside.invalid/")
    assert h.outside == ["http://outside.invalid/"]
    h.outside.clear()
