"""The report in a real browser: headless Chromium loads it from disk, with no console errors.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 in, fd 4 out), so
no chromedriver, Selenium or websocket package is needed. Install the browser with
``scripts/install-chromium.sh`` (Debian's ``chromium``), or point ``CODERANK_CHROMIUM`` at a binary.

The screenshot test writes ``tests/report/screenshots/report.png`` (a reference to look at, not compared
pixel by pixel: fonts and dates differ between machines) only when ``CODERANK_UPDATE_SCREENSHOTS=1``.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from coderank.report.html import write_report

from .test_html import HOSTILE, png_size, reported_only_charts, sample_store

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 1280, 2000
SCREENSHOT = Path(__file__).parent / "screenshots" / "report.png"


def find_chromium() -> str | None:
    explicit = os.environ.get("CODERANK_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium found: run scripts/install-chromium.sh (or set CODERANK_CHROMIUM)")


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol on a pipe."""

    def __init__(self, profile: Path, timeout: float = 30.0):
        self.timeout = timeout
        self.events: list[dict] = []
        self._id = 0
        self._buf = b""
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds():  # in the child: the protocol wants its input on fd 3 and its output on fd 4
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
                f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, close_fds=False, preexec_fn=wire_fds)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        try:
            targets = self.call("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable", session=True)
            self.call("Emulation.setDeviceMetricsOverride", session=True, width=WIDTH, height=HEIGHT,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close()
            raise

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe: " + self._stderr_tail())
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _stderr_tail(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console messages, image errors)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def open(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        self.drain(0.5)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", session=True, format="png")["data"])

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and failed loads, as text."""
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                                     for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                out.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                entry = params["entry"]
                out.append(f"{entry['level']} ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def report(tmp_path) -> Path:
    return write_report(sample_store(), tmp_path / "site")


@needs_chromium
def test_the_harness_sees_console_errors_and_missing_images(browser, tmp_path):
    # A control page: proves that a clean result below means "no errors", not "errors not collected".
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><title>bad</title><img src="missing.png"><script>console.error("boom")</script>')
    browser.open(page.as_uri())
    problems = browser.problems()
    assert any("boom" in p for p in problems) and any("missing.png" in p for p in problems), problems


@needs_chromium
def test_report_loads_without_console_errors_and_shows_the_rows(browser, report):
    browser.open(report.as_uri())
    assert browser.problems() == []
    assert browser.evaluate("document.title") == "coderank report"
    models = browser.evaluate("[...document.querySelectorAll('table.measured td.model')].map(e => e.textContent)")
    # the hostile name shows as text; the sampled run is not ranked with the greedy ones, so it comes last
    assert models == ["alpha-coder-7b", "beta-coder-3b", HOSTILE, "gamma-sampled-1.5b"]
    assert browser.evaluate("document.scripts.length") == 0
    reported = browser.evaluate("document.querySelector('section.reported').innerText")
    assert "not measured by coderank" in reported and "GPT-4" in reported
    images = browser.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    assert len(images) == 4 + len(reported_only_charts()), images
    assert all(done and width > 300 for _, done, width in images), images
    overflow = browser.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the page scrolls sideways at 1280 px"
    wide = browser.evaluate("[...document.querySelectorAll('.tablewrap')].filter(w => w.scrollWidth > w.clientWidth)"
                            ".map(w => w.firstElementChild.className)")
    assert wide == [], "these tables need a sideways scroll at 1280 px"


@needs_chromium
def test_screenshot_is_not_blank(browser, report, tmp_path):
    import matplotlib.image

    browser.open(report.as_uri())
    shot = tmp_path / "report.png"
    shot.write_bytes(browser.screenshot())
    assert png_size(shot) == (WIDTH, HEIGHT)
    pixels = matplotlib.image.imread(shot)[..., :3].reshape(-1, 3)
    assert pixels.std(axis=0).max() > 0.05, "the screenshot is a single colour"
    assert len({tuple(p) for p in pixels[:: 97].round(2).tolist()}) > 20
    if os.environ.get("CODERANK_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
