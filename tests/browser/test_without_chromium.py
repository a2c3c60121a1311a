"""Without Chromium the browser checks skip, each saying why, and nothing else fails."""
import os
import subprocess
import sys

from tests.browser.chromium import MISSING
from tests.helpers.loadrun import ROOT


def test_without_chromium_the_browser_checks_skip_saying_why():
    bare = {**os.environ, "PATH": os.path.dirname(sys.executable),  # no chromium on it
            "COLUMNS": "400"}  # the skip reasons whole
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests/browser",
         "-k", "not without_chromium"], env=bare, cwd=ROOT, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert MISSING in done.stdout, done.stdout[-3000:]
    assert " passed" not in done.stdout and " skipped" in done.stdout, done.stdout[-3000:]
