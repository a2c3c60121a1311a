"""Staged rollouts (docs/scenarios.md): who /app/releases/latest offers a release to, and
PATCH /admin/releases/{version} raising, lowering, halting and resuming it."""
import pytest
from sqlalchemy import text

from bankapi import init_database
from bankapi.database.db import db
from bankapi.domain.releases import in_rollout
from chaos.decisions import hash64

DEVICES = [f"device-{n}" for n in range(2000)]


@pytest.fixture
def publish(client, admin_headers):
    def publish(version="4.2.0", **body):
        response = client.post("/admin/releases", headers=admin_headers,
                               json={"version": version, **body})
        assert response.status_code == 201, response.json
        return response.json
    return publish


@pytest.fixture
def patch(client, admin_headers):
    def patch(version, body, platform=None, status=200):
        query = f"?platform={platform}" if platform else ""
        response = client.patch(f"/admin/releases/{version}{query}", headers=admin_headers,
                                json=body)
        assert response.status_code == status, response.json
        return response.json
    return patch


@pytest.fixture
def latest(client):
    def latest(device=None, platform="ios", app_version=None):
        headers = {k: v for k, v in (("X-Device-Id", device), ("X-App-Version", app_version))
                   if v is not None}
        response = client.get(f"/app/releases/latest?platform={platform}", headers=headers)
        assert response.status_code == 200, response.json
        return response.json["version"]
    return latest


def offered(latest, version="4.2.0", devices=DEVICES):
    return {device for device in devices if latest(device) == version}


def test_a_release_is_published_to_everyone_unless_staged(publish):
    body = publish()
    assert (body["rollout_percent"], body["halted"]) == (100, False)
    assert publish("4.3.0", rollout_percent=0.5)["rollout_percent"] == 0.5


def test_raising_a_rollout_keeps_every_device_already_offered(publish, patch, latest):
    publish(rollout_percent=5)
    at_5 = offered(latest)
    assert 0.03 <= len(at_5) / len(DEVICES) <= 0.07
    assert patch("4.2.0", {"rollout_percent": 20})["releases"][0]["rollout_percent"] == 20
    at_20 = offered(latest)
    assert 0.15 <= len(at_20) / len(DEVICES) <= 0.25
    assert at_5 < at_20
    assert {latest(device) for device in set(DEVICES) - at_20} == {"4.1.3"}


def test_lowering_a_rollout_offers_it_to_fewer_but_keeps_devices_running_it(
        publish, patch, latest):
    publish(rollout_percent=50)
    at_50 = offered(latest, devices=DEVICES[:400])
    patch("4.2.0", {"rollout_percent": 10})
    at_10 = offered(latest, devices=DEVICES[:400])
    assert at_10 < at_50 and len(at_10) < len(at_50) / 2
    dropped = sorted(at_50 - at_10)[0]
    assert latest(dropped) == "4.1.3"
    assert latest(dropped, app_version="4.2.0") == "4.2.0"  # never told it is ahead


def test_the_bucket_is_the_seeded_hash_of_seed_version_and_device(app):
    seed = app.config["SEED"]
    for device in DEVICES[:200]:
        expected = hash64(seed, "4.2.0", device) % 10_000 < 1250
        assert in_rollout(seed, "4.2.0", device, 12.5) is expected
    assert in_rollout(seed, "4.2.0", None, 99.99) is False
    assert in_rollout(seed, "4.2.0", None, 100) is True


def test_without_a_device_id_only_full_rollouts_are_offered(publish, patch, latest):
    publish(rollout_percent=99.99)
    assert latest() == "4.1.3"
    patch("4.2.0", {"rollout_percent": 100})
    assert latest() == "4.2.0"


def test_a_halted_release_is_answered_only_to_devices_running_it(publish, patch, latest):
    publish()
    assert latest("device-1") == "4.2.0"
    halted = patch("4.2.0", {"halted": True})["releases"]
    assert [r["halted"] for r in halted] == [True]
    assert latest("device-1") == latest() == latest("device-1", app_version="4.1.3") == "4.1.3"
    assert latest("device-1", app_version="4.2.0") == "4.2.0"
    assert latest(app_version="4.2") == "4.2.0"  # the same PEP 440 version
    patch("4.2.0", {"halted": False})
    assert latest("device-1") == latest() == "4.2.0"


def test_a_rollout_change_while_halted_is_409_and_changes_nothing(publish, patch, latest):
    publish(rollout_percent=5)
    patch("4.2.0", {"halted": True})
    refused = patch("4.2.0", {"rollout_percent": 50}, status=409)
    assert refused["error"]["code"] == "rollout_halted"
    assert patch("4.2.0", {"rollout_percent": 5, "halted": True}, status=409)
    assert patch("4.2.0", {"halted": False})["releases"][0]["rollout_percent"] == 5
    assert len(offered(latest, devices=DEVICES[:400])) < 40
    resumed = patch("4.2.0", {"halted": True})  # halt again, then resume and raise at once
    assert resumed["releases"][0]["halted"] is True
    both = patch("4.2.0", {"halted": False, "rollout_percent": 100})["releases"][0]
    assert (both["halted"], both["rollout_percent"]) == (False, 100)
    assert latest() == "4.2.0"


def test_patch_changes_every_platform_unless_one_is_named(publish, patch, latest):
    publish(rollout_percent=0)  # one row for "all"
    ios = patch("4.2.0", {"rollout_percent": 100}, platform="ios")["releases"]
    assert [(r["platform"], r["rollout_percent"]) for r in ios] == [("ios", 100)]
    assert [latest(platform=p) for p in ("ios", "android", "web")] == ["4.2.0", "4.1.3", "4.1.3"]
    every = patch("4.2.0", {"halted": True})["releases"]
    assert [(r["platform"], r["halted"]) for r in every] == [
        ("ios", True), ("android", True), ("web", True)]
    assert [r["rollout_percent"] for r in every] == [100, 0, 0]
    publish("4.3.0", platform="ios")
    publish("4.3.0", platform="android")  # two rows
    assert len(patch("4.3.0", {"halted": True})["releases"]) == 2
    assert latest(platform="ios") == latest(platform="android") == "4.1.3"


def test_unknown_version_or_platform_is_404(publish, patch):
    assert patch("9.9.9", {"halted": True}, status=404)["error"]["field"] == "version"
    publish(platform="ios")
    assert patch("4.2.0", {"halted": True}, platform="android", status=404)


@pytest.mark.parametrize("query,body,field", [
    ("", {}, "rollout_percent"),
    ("", {"rollout_percent": 100.5}, "rollout_percent"),
    ("", {"rollout_percent": -1}, "rollout_percent"),
    ("", {"rollout_percent": "50"}, "rollout_percent"),
    ("", {"rollout_percent": True}, "rollout_percent"),
    ("", {"rollout_percent": None}, "rollout_percent"),
    ("", {"halted": "yes"}, "halted"),
    ("", {"halted": 1}, "halted"),
    ("", {"percent": 5}, "percent"),
    ("?platform=windows", {"halted": True}, "platform"),
])
def test_bad_rollout_change_is_400_naming_the_field(client, admin_headers, latest, query,
                                                    body, field):
    response = client.patch(f"/admin/releases/4.1.3{query}", headers=admin_headers, json=body)
    assert response.status_code == 400
    assert response.json["error"]["field"] == field
    assert client.patch("/admin/releases/four", headers=admin_headers,
                        json={"halted": True}).json["error"]["field"] == "version"
    assert latest() == "4.1.3"


@pytest.mark.parametrize("percent", [101, -0.1, "5", False, float("nan")])
def test_bad_rollout_at_publish_is_400_and_writes_nothing(client, admin_headers, latest,
                                                          percent):
    response = client.post("/admin/releases", headers=admin_headers, data=(
        '{"version": "4.2.0", "rollout_percent": NaN}' if percent != percent else None),
        content_type="application/json", json=None if percent != percent else {
            "version": "4.2.0", "rollout_percent": percent})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "rollout_percent"
    assert latest("device-1") == "4.1.3"


def test_a_database_from_before_rollouts_gains_the_columns(app, latest):
    with app.app_context(), db.engine.begin() as connection:
        for column in ("rollout_percent", "halted"):
            connection.execute(text(f"ALTER TABLE releases DROP COLUMN {column}"))
    init_database(app)
    assert latest("device-1") == "4.1.3"
    with app.app_context():
        rows = db.session.execute(text("SELECT rollout_percent, halted FROM releases")).all()
    assert rows and all(row == (100, False) for row in rows)
