"""The walkthrough of docs/bank.md and docs/chaos.md, and the device lab of
docs/device-lab.md, each run the way a newcomer runs it.

Every ```bash block preceded by `<!-- walkthrough -->` is pasted, in page order, into one
bash (`set -euo pipefail`, so any failing command fails the test) in an empty directory,
with the virtual environment's bin first on PATH and no banksim variable but BANKSIM_URL,
which the walkthrough itself reads to pick its port (here a free one, not 8000).
"""
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
PAGES = (DOCS / "bank.md", DOCS / "chaos.md")  # one shell, in this order
DEVICE_LAB = (DOCS / "device-lab.md",)  # a shell of its own
MARKER = re.compile(r"<!-- walkthrough -->\s*```bash\n(.*?)```", re.S)


def walkthrough_blocks(pages=PAGES) -> list[str]:
    return [block for page in pages for block in MARKER.findall(page.read_text())]


def test_the_walkthrough_has_the_bank_and_chaos_blocks():
    blocks = walkthrough_blocks()
    script = "\n".join(blocks)
    assert len(blocks) >= 4
    for command in ("banksim seed", "banksim serve", "banksim chaos preset",
                    "banksim chaos add -q", "banksim chaos disable", "banksim chaos enable"):
        assert command in script, command
    for placeholder in ("acc_...", "rule_..."):
        assert placeholder not in script


@pytest.mark.slow
def test_the_walkthrough_runs_top_to_bottom(tmp_path):
    output = run_blocks(walkthrough_blocks(), tmp_path)
    assert '"status":"completed"' in output.replace(" ", "")  # the transfer went through
    assert "added 3 rule(s) from preset bad-release" in output
    assert re.search(r"disabled rule_\w+ \(slow iOS balance\)", output)


@pytest.mark.slow
def test_the_device_lab_breaks_only_the_allowed_device(tmp_path):
    output = run_blocks(walkthrough_blocks(DEVICE_LAB), tmp_path)
    assert "header faults on for device my-phone" in output
    assert '"chaos_header_faults":true' in output.replace(" ", "")
    for line in ("my-phone asks for latency=800ms: 200", "my-phone asks for error=503: 503",
                 "my-phone asks for latency=1s; error=502: 502",
                 "my-phone asks for reset: no answer (connection reset)",
                 "other-phone asks for error=503: 200", "my-phone asks for latency=10h: 200",
                 "my-phone on cellular: 503", "my-phone on wifi: 200"):
        assert line in output, line
    assert re.search(r'chaos_header_faults_ignored_total\{reason="not_allowed"\} 1\.0', output)
    assert re.search(r'chaos_header_faults_ignored_total\{reason="invalid_value"\} 1\.0', output)
    assert re.search(r"header.*\berror\b.*GET /app/releases/latest.*my-phone", output)
    assert "header faults off" in output and "000 in" not in output


def run_blocks(blocks: list[str], tmp_path: Path) -> str:
    """The blocks in one bash in `tmp_path`, on a free port; fails the test unless exit 0."""
    script = "set -euo pipefail\n" + "\n".join(blocks)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "BANKSIM_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the walkthrough did not finish:\n{output}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # a server the script left running
        except ProcessLookupError:
            pass
    assert process.returncode == 0, f"{output}\n--- serve.log tail:\n{_tail(tmp_path)}"
    return output


def _tail(directory: Path) -> str:
    log = directory / "serve.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
