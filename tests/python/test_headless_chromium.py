"""The browser driver's launch: a Chromium that gives no answer is killed and launched again.

Once in CI, Chromium gave no answer to its first command in 30 s while Spark and dbt ran on the
other worker, and the four browser tests of test_dashboard errored. These tests stand a shell
script in for the executable: it hangs (writing a line to stderr first) for its first launches and
then runs a stand-in that answers every command on the DevTools pipe, as Chromium would. (The real
Chromium is not used here: under load its own start can take longer than the short waits these
tests give the hanging launches. test_dashboard and test_validation drive it.)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from headless_chromium import HeadlessChromium

# answers each command read from fd 3 on fd 4 (NUL-terminated JSON), as Chromium does
ANSWERS_ON_THE_PIPE = """
import json, os
buffer = b""
while chunk := os.read(3, 65536):
    buffer += chunk
    while b"\\0" in buffer:
        raw, buffer = buffer.split(b"\\0", 1)
        message = json.loads(raw)
        answer = {"id": message["id"], "result": {"method": message["method"]}}
        os.write(4, json.dumps(answer).encode() + b"\\0")
        if message["method"] == "Browser.close":
            raise SystemExit(0)
"""


def _hangs_first(tmp_path: Path, hanging_launches: int) -> tuple[Path, Path]:
    """An executable whose first ``hanging_launches`` launches hang, then answer; each launch
    appends its pid to the returned file."""
    launches = tmp_path / "launches"
    answers = tmp_path / "answers_on_the_pipe.py"
    answers.write_text(ANSWERS_ON_THE_PIPE)
    script = tmp_path / "chromium-that-hangs"
    script.write_text(
        "#!/bin/sh\n"
        f'echo $$ >> "{launches}"\n'
        f'if [ "$(wc -l < "{launches}")" -le {hanging_launches} ]; then\n'
        '  echo "launch $$ is stuck" >&2\n'
        "  exec sleep 600\n"
        "fi\n"
        f'exec "{sys.executable}" "{answers}"\n'
    )
    script.chmod(0o755)
    return script, launches


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child stays a zombie until reaped: not running either way
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def test_a_hung_launch_is_killed_and_the_next_one_answers(tmp_path):
    script, launches = _hangs_first(tmp_path, hanging_launches=1)

    with HeadlessChromium(executable=script, launch_timeout=10, launch_attempts=2) as browser:
        answer = browser.send("Page.navigate", {"url": "about:blank"})
        hung, answering = (int(pid) for pid in launches.read_text().split())
        assert not _alive(hung)
        assert _alive(answering)

    assert answer == {"method": "Page.navigate"}
    assert not _alive(answering)  # closed with the browser


def test_a_launch_that_never_answers_fails_with_chromiums_stderr(tmp_path):
    script, launches = _hangs_first(tmp_path, hanging_launches=10)
    browser = HeadlessChromium(executable=script, launch_timeout=1, launch_attempts=3)

    started = time.monotonic()
    with pytest.raises(TimeoutError) as raised:
        browser.start()
    took = time.monotonic() - started

    pids = [int(pid) for pid in launches.read_text().split()]
    message = str(raised.value)
    assert len(pids) == 3
    assert f"{script} gave no answer after 3 launches" in message
    assert f"launch {pids[-1]} is stuck" in message
    assert not any(_alive(pid) for pid in pids)
    assert took < 3 * 1 + 10  # three one-second waits and the kills, not Browser.close's waits
