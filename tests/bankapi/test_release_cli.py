"""`banksim release publish --rollout`, `rollout`, `halt` and `resume` against a real
`banksim serve`, run as the README runs them (BANKSIM_URL and BANKSIM_ADMIN_TOKEN only)."""
import os
import subprocess
import sys

import pytest
import requests

pytestmark = pytest.mark.slow
DEVICES = [f"phone-{n}" for n in range(300)]


@pytest.fixture
def release(served_bank, admin_headers):
    """`banksim release ARGS...` pointed at the served bank."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANKSIM_", "PROMETHEUS_"))}
    env.update(BANKSIM_URL=served_bank,
               BANKSIM_ADMIN_TOKEN=admin_headers["Authorization"].removeprefix("Bearer "))
    return lambda *args: subprocess.run([sys.executable, "-m", "banksim", "release", *args],
                                        env=env, capture_output=True, text=True, timeout=60)


def offered(url, version, platform="ios", **headers):
    """The devices /app/releases/latest offers `version` to."""
    return {device for device in DEVICES if requests.get(
        f"{url}/app/releases/latest?platform={platform}", timeout=30,
        headers={"X-Device-Id": device, **headers}).json()["version"] == version}


@pytest.mark.database_incidental
def test_release_commands_steer_a_staged_rollout(served_bank, release):
    url = served_bank
    published = release("publish", "5.0.0", "--rollout", "5")
    assert published.returncode == 0, published.stderr
    assert "published 5.0.0 for all" in published.stdout and "rollout 5 %" in published.stdout
    at_5 = offered(url, "5.0.0")
    raised = release("rollout", "5.0.0", "50")
    assert raised.returncode == 0 and "5.0.0 on all: rollout 50 %" in raised.stdout
    at_50 = offered(url, "5.0.0")
    assert at_5 < at_50 and 0.35 <= len(at_50) / len(DEVICES) <= 0.65

    assert release("halt", "5.0.0").returncode == 0
    assert offered(url, "5.0.0") == set()
    assert offered(url, "5.0.0", **{"X-App-Version": "5.0.0"}) == set(DEVICES)
    refused = release("rollout", "5.0.0", "100")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "Error: 409 rollout_halted: the rollout of 5.0.0 is halted; resume it first "
        "(halted: false)"]
    assert release("resume", "5.0.0").returncode == 0
    assert offered(url, "5.0.0") == at_50

    android = release("halt", "5.0.0", "--platform", "android")
    assert android.stdout.strip() == "5.0.0 on android: halted 50 %"
    assert offered(url, "5.0.0") == at_50 and offered(url, "5.0.0", "android") == set()


@pytest.mark.parametrize("args,message", [
    (("rollout", "9.9.9", "10"), "404 not_found: no release 9.9.9"),
    (("rollout", "4.1.3", "150"), "400 validation_error: rollout_percent"),
    (("publish", "5.1.0", "--rollout", "-1"), "400 validation_error: rollout_percent"),
])
def test_release_command_errors_are_one_line_and_exit_non_zero(release, args, message):
    result = release(*args)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
