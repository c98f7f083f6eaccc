"""The report of the quickstart campaign in a real headless browser (Chromium).

The browser is driven over the DevTools protocol on ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on fds 3 and 4): standard library only, no selenium, no websocket
client. Every page is loaded; the test fails on a JavaScript exception, a console error (a
missing file shows up as one), an image that did not decode, or a link to a missing file.

Chromium comes from Debian: ``apt-get install -y chromium``. Without it the test is skipped.
The quickstart run comes from ``suite_support.runs.quickstart_run`` (once per session).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,2000"]


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # the browser expects the pipe on fds 3 (in) and 4 (out)
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self._profile = tempfile.mkdtemp(prefix="evolve-chromium-")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self._profile}"],
                                     preexec_fn=wire_fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method: str, session: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(index)
            self.events.append(self._read_message(deadline))


PAGE_CHECK = """JSON.stringify({
  images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll('a[href], link[href]')).map(a => a.href),
  title: document.title,
  pageinfo: (document.getElementById('pageinfo') || {}).textContent || null,
  height: document.body.scrollHeight
})"""


def _file_of(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@pytest.fixture(scope="module")
def quickstart_report(quickstart_run_dir: Path) -> Path:
    run = quickstart_run_dir
    from evolve.cli import main

    assert main(["report", str(run)]) == 0
    return run / "report"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                             "(Debian: apt-get install -y chromium)")
def test_every_report_page_renders_in_a_browser(quickstart_report: Path, tmp_path: Path) -> None:
    pages = [quickstart_report / "index.html",
             *sorted((quickstart_report / "programs").glob("*.html"))]
    assert len(pages) > 3
    assert CHROMIUM is not None
    browser = DevTools(CHROMIUM)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        problems: list[str] = []
        for page in pages:
            browser.events.clear()
            browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
            browser.wait_event("Page.loadEventFired", session)
            result = browser.send("Runtime.evaluate", {"expression": PAGE_CHECK,
                                                       "returnByValue": True}, session=session)
            state = json.loads(result["result"]["value"])
            for event in browser.events:
                if event.get("method") == "Runtime.exceptionThrown":
                    problems.append(f"{page.name}: JS error {event['params']['exceptionDetails']}")
                if event.get("method") == "Log.entryAdded" and \
                        event["params"]["entry"]["level"] == "error":
                    problems.append(f"{page.name}: {event['params']['entry']['text']}")
            problems += [f"{page.name}: image not loaded {i['src']}"
                         for i in state["images"] if not i["ok"]]
            for link in state["links"]:
                path = _file_of(link)
                if path is None:
                    problems.append(f"{page.name}: link leaves the report: {link}")
                elif not path.is_file():
                    problems.append(f"{page.name}: broken link {link}")
            assert state["title"] and state["height"] > 500, page.name
            if page.name == "index.html":
                assert len(state["images"]) == 4  # the four figures
                assert state["pageinfo"].startswith("page 1 / 1"), state["pageinfo"]  # JS ran
                shot = browser.send("Page.captureScreenshot", {"format": "png"},
                                    session=session)["data"]
                import base64

                png = base64.b64decode(shot)
                (tmp_path / "index.png").write_bytes(png)
                assert png[:4] == b"\x89PNG" and len(png) > 50_000  # not a blank page
        assert problems == []
    finally:
        browser.close()
