"""The browser driver's launch: a Chromium that gives no answer is killed and launched again.

Once in CI, Chromium gave no answer to its first command in 30 s while Spark and dbt ran on the
other worker, and the four browser tests of test_dashboard errored. These tests stand a shell
script in for the executable: it hangs (writing a line to stderr first) for its first launches and
then runs the real Chromium.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from headless_chromium import CHROMIUM, HeadlessChromium


def _hangs_first(tmp_path: Path, hanging_launches: int) -> tuple[Path, Path]:
    """An executable whose first ``hanging_launches`` launches hang; each appends its pid."""
    launches = tmp_path / "launches"
    script = tmp_path / "chromium-that-hangs"
    script.write_text(
        "#!/bin/sh\n"
        f'echo $$ >> "{launches}"\n'
        f'if [ "$(wc -l < "{launches}")" -le {hanging_launches} ]; then\n'
        '  echo "launch $$ is stuck" >&2\n'
        "  exec sleep 600\n"
        "fi\n"
        f'exec "{CHROMIUM}" "$@"\n'
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
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run tests/setup/install_chromium.sh (the test set-up)")
    script, launches = _hangs_first(tmp_path, hanging_launches=1)
    page_file = tmp_path / "page.html"
    page_file.write_text("<title>answered</title>")

    with HeadlessChromium(executable=script, launch_timeout=2, launch_attempts=2) as browser:
        page = browser.open(page_file.as_uri())
        title = page.evaluate("document.title")
        hung = int(launches.read_text().split()[0])
        assert not _alive(hung)

    assert title == "answered"
    assert len(launches.read_text().split()) == 2


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
