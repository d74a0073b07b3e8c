"""Drive Debian's headless Chromium from tests over the Chrome DevTools Protocol, stdlib only.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol messages from file
descriptor 3 and writes to 4, each a JSON object ending with a NUL byte (the transport Puppeteer
and Playwright use). No websocket, no port, no package beyond the standard library, and no
network: the flags below switch off every background request Chromium makes on its own.

    with HeadlessChromium() as browser:
        page = browser.open(Path("index.html").as_uri())
        page.evaluate("document.title")
        page.click("#segments-table th:nth-child(3) button")
        page.screenshot(Path("shot.png"))
        assert not browser.console_errors()
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# the lines of Chromium's stderr kept for an error message (the last ones)
STDERR_LINES_KEPT = 200
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class ProtocolError(RuntimeError):
    pass


class HeadlessChromium:
    """One headless Chromium process with a fresh profile, spoken to over the DevTools pipe.

    ``timeout`` bounds each command once the browser is up. Its first answer gets
    ``launch_timeout``: Chromium answers in under a second on an idle machine and in up to 8 s
    beside three busy processes on two cores, but once in CI (2026-12-02, Spark and dbt on the
    other worker) it gave no answer in 30 s. A launch that gets no answer is killed and tried
    again, ``launch_attempts`` times in all; then the error carries the end of Chromium's stderr.
    """

    def __init__(
        self,
        executable: Path = CHROMIUM,
        window_size: tuple[int, int] = (1400, 1000),
        timeout: float = 30.0,
        launch_timeout: float = 60.0,
        launch_attempts: int = 2,
    ) -> None:
        self.executable = executable
        self.window_size = window_size
        self.timeout = timeout
        self.launch_timeout = launch_timeout
        self.launch_attempts = launch_attempts
        self.events: list[dict] = []
        self._responses: dict[int, dict] = {}
        self._arrived = threading.Condition()
        self._next_id = 0
        self._process: subprocess.Popen | None = None
        self._profile: str | None = None
        self._stderr: queue.Queue[str] = queue.Queue()
        self._stderr_read: deque[str] = deque(maxlen=STDERR_LINES_KEPT)

    # --- process --------------------------------------------------------------------------

    def __enter__(self) -> HeadlessChromium:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Launch Chromium and wait for its first answer; a hung launch is killed and retried."""
        for attempt in range(1, self.launch_attempts + 1):
            self._launch()
            try:
                self.send(
                    "Target.setDiscoverTargets", {"discover": True}, timeout=self.launch_timeout
                )
                return
            except (TimeoutError, ProtocolError) as error:
                stderr = self.stderr_tail()
                self.close(ask_first=False)
                if attempt == self.launch_attempts:
                    raise type(error)(
                        f"{self.executable} gave no answer after {attempt} launches"
                        f" ({error}); the end of its stderr:\n{stderr}"
                    ) from error

    def stderr_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines Chromium wrote to stderr so far (at most STDERR_LINES_KEPT)."""
        while True:
            try:
                self._stderr_read.append(self._stderr.get_nowait())
            except queue.Empty:
                break
        return "".join(list(self._stderr_read)[-lines:])

    def _launch(self) -> None:
        self.events = []
        self._responses = {}
        self._stderr = queue.Queue()
        self._stderr_read = deque(maxlen=STDERR_LINES_KEPT)
        self._profile = tempfile.mkdtemp(prefix="clv-chromium-")
        to_chrome_read, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_write = os.pipe()

        def give_pipes_fds_3_and_4() -> None:  # runs in the child, before exec
            read_end, write_end = os.dup(to_chrome_read), os.dup(from_chrome_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        width, height = self.window_size
        command = [
            str(self.executable),
            *FLAGS,
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(3, 4),
            preexec_fn=give_pipes_fds_3_and_4,  # only os.dup/dup2: safe after fork
        )
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        # each reader owns what it reads, so a killed launch's readers cannot touch the next one's
        threading.Thread(
            target=self._read_messages,
            args=(self._from_chrome, self._responses, self.events),
            daemon=True,
        ).start()
        threading.Thread(
            target=self._read_stderr, args=(self._process.stderr, self._stderr), daemon=True
        ).start()

    def close(self, ask_first: bool = True) -> None:
        """End the browser: ask it to close (unless ``ask_first`` is off), then kill it."""
        if self._process is not None:
            if ask_first:
                try:
                    self.send("Browser.close", timeout=5)
                except (ProtocolError, OSError, TimeoutError):
                    pass
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
            try:
                os.close(self._to_chrome)
            except OSError:
                pass
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @staticmethod
    def _read_stderr(stream: Any, into: queue.Queue[str]) -> None:
        for line in stream:
            into.put(line.decode("utf-8", "replace"))

    def _read_messages(self, fd: int, responses: dict[int, dict], events: list[dict]) -> None:
        """Collect answers and events until Chromium closes its end; then close ours."""
        buffer = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                try:
                    os.close(fd)
                except OSError:
                    pass
                with self._arrived:
                    self._arrived.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._arrived:
                    if "id" in message:
                        responses[message["id"]] = message
                    else:
                        events.append(message)
                    self._arrived.notify_all()

    # --- protocol -------------------------------------------------------------------------

    def send(
        self,
        method: str,
        params: dict | None = None,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Send one command and wait for its result; ProtocolError on a protocol error."""
        with self._arrived:
            self._next_id += 1
            message_id = self._next_id
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._arrived:
            while message_id not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {method} in {timeout or self.timeout} s")
                if self._process is None or self._process.poll() is not None:
                    raise ProtocolError(f"chromium exited while waiting for {method}")
                self._arrived.wait(min(left, 0.5))
            response = self._responses.pop(message_id)
        if "error" in response:
            raise ProtocolError(f"{method}: {response['error']}")
        return response.get("result", {})

    def wait_for_event(
        self, method: str, session_id: str | None = None, timeout: float | None = None
    ) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        with self._arrived:
            while True:
                for event in self.events[seen:]:
                    if event.get("method") == method and (
                        session_id is None or event.get("sessionId") == session_id
                    ):
                        return event
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method} event in {timeout or self.timeout} s")
                self._arrived.wait(min(left, 0.5))

    def open(self, url: str) -> Page:
        """A new tab with console, log, network and page events on, loaded with ``url``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.send(f"{domain}.enable")
        page.navigate(url)
        return page

    # --- what the page said ---------------------------------------------------------------

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP, failed loads)."""
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(
                    "console: " + " ".join(str(a.get("value", a)) for a in params.get("args", []))
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append(f"exception: {details.get('text')} {details.get('exception', {})}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        return errors

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]


class Page:
    """One attached tab (a flattened DevTools session)."""

    def __init__(self, browser: HeadlessChromium, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, session_id=self.session_id)

    def navigate(self, url: str) -> None:
        before = len(self.browser.events)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise ProtocolError(f"cannot open {url}: {result['errorText']}")
        deadline = time.monotonic() + self.browser.timeout
        while time.monotonic() < deadline:
            for event in self.browser.events[before:]:
                if (
                    event.get("method") == "Page.loadEventFired"
                    and event.get("sessionId") == self.session_id
                ):
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not finish loading")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (JSON-serialisable), or ProtocolError."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression!r} threw {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the centre of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )
        if box is None:
            raise ProtocolError(f"no element matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page (not only the window)."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                },
            },
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
