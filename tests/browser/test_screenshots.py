"""`python -m tests.browser.screenshots` (the README's command) takes the first screen of each
offline page; its Locust part runs the helpers test_locust_webui_page.py checks."""
import struct
import subprocess
import sys

from tests.helpers.loadrun import ROOT


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def test_screenshots_command_takes_each_pages_first_screen(browser, tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.browser.screenshots", "--skip-locust",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compare.png", "report.png"]
    assert done.stdout.split() == [str(tmp_path / "report.png"), str(tmp_path / "compare.png")]
    assert {png_size(p) for p in tmp_path.iterdir()} == {(1366, 768)}
