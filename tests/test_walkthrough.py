"""The walkthrough of docs/bank.md and docs/chaos.md, run the way a newcomer runs it.

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
MARKER = re.compile(r"<!-- walkthrough -->\s*```bash\n(.*?)```", re.S)


def walkthrough_blocks() -> list[str]:
    return [block for page in PAGES for block in MARKER.findall(page.read_text())]


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
    script = "set -euo pipefail\n" + "\n".join(walkthrough_blocks())
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
    assert '"status":"completed"' in output.replace(" ", "")  # the transfer went through
    assert "added 3 rule(s) from preset bad-release" in output
    assert re.search(r"disabled rule_\w+ \(slow iOS balance\)", output)


def _tail(directory: Path) -> str:
    log = directory / "serve.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
