"""docker-compose.yml and deploy/ checked against the code, since Docker cannot run here:
every command parses, every file it mounts exists, Prometheus scrapes the bank, and every
metric the Grafana dashboard queries is one the bank really exports."""
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import click
import pytest
import yaml

from banksim.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")
METRIC = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=[\[{])")


def interpolate(value: str) -> str:
    """What compose substitutes for ${VAR:-default} when VAR is unset."""
    return DEFAULTED.sub(lambda m: m.group(2), value)


def command(service: str) -> list[str]:
    return [interpolate(part) for part in SERVICES[service]["command"]]


def container_path(service: str, host_path: str) -> str:
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        if source == host_path:
            return target
    raise AssertionError(f"{service} does not mount {host_path}")


def test_the_topology_is_all_there():
    assert set(SERVICES) == {"postgres", "seed", "bank", "locust-master", "locust-worker",
                             "prometheus", "grafana"}
    assert SERVICES["seed"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["bank"]["depends_on"]["seed"]["condition"] == \
        "service_completed_successfully"
    assert "ports" not in SERVICES["locust-worker"]  # so `--scale locust-worker=N` works


def test_images_are_pinned_and_builds_exist():
    for name, service in SERVICES.items():
        if "build" in service:
            context = ROOT / service["build"]["context"]
            dockerfile = context / service["build"]["dockerfile"]
            assert dockerfile.is_file(), name
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for source in line.split()[1:-1]:
                        assert (context / source).exists(), f"{dockerfile}: {source}"
        else:
            repository, _, tag = service["image"].rpartition(":")
            assert repository and tag and tag != "latest", f"{name}: {service['image']}"


@pytest.mark.parametrize("service", ["seed", "bank"])
def test_banksim_commands_parse_against_the_cli(service):
    args = command(service)
    assert args[0] == "banksim"
    group = click.Context(main, info_name="banksim")
    subcommand = main.get_command(group, args[1])
    assert subcommand is not None, args[1]
    subcommand.make_context(args[1], args[2:], parent=group)  # raises on a bad option or value


@pytest.mark.parametrize("service", ["locust-master", "locust-worker"])
def test_locust_commands_parse_with_the_locustfile(service):
    """`--list` makes Locust parse every option (the locustfile's own included), print the
    user classes and exit; an unknown option or a bad value exits 2."""
    args = command(service)
    assert args[:3] == ["locust", "-f", "loadtests/locustfile.py"]
    listed = subprocess.run([sys.executable, "-m", *args, "--list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "MobileCustomer" in listed.stdout


def test_every_banksim_variable_set_is_read_by_the_code():
    packages = ("banksim", "bankapi", "chaos", "seed", "loadtests")
    code = "\n".join(p.read_text() for folder in packages for p in (ROOT / folder).rglob("*.py"))
    environment = COMPOSE["x-banksim"]["environment"]
    for variable in environment:
        assert variable in code, variable
    url = environment["BANKSIM_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url


def test_mounted_configuration_exists():
    for service in ("prometheus", "grafana"):
        for volume in SERVICES[service]["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume


def test_prometheus_scrapes_the_bank_where_it_listens():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert container_path("prometheus", "./deploy/prometheus.yml") in " ".join(
        SERVICES["prometheus"]["command"])
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    bank = command("bank")
    assert job["static_configs"][0]["targets"] == [f"bank:{bank[bank.index('--port') + 1]}"]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard():
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "banksim.yml").read_text())[
        "providers"]
    assert provider["options"]["path"] == container_path("grafana",
                                                         "./deploy/grafana/dashboards")
    assert container_path("grafana", "./deploy/grafana/provisioning") == \
        "/etc/grafana/provisioning"
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "banksim.json")
                           .read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def exported_metrics(client, alice, bob, admin_headers) -> set[str]:
    """Sample names on /metrics after traffic that touches every metric family."""
    client.post("/admin/chaos/rules", headers=admin_headers, json={
        "match": {"path": "/me", "app_version": "==9.9.9"},
        "fault": {"type": "error", "status": 503}})
    client.get("/me", headers={**alice.headers, "X-App-Version": "9.9.9"})
    body = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 1_00, "currency": "GBP"}
    key = uuid.uuid4().hex
    alice.post("/transfers", json=body, key=key)
    alice.post("/transfers", json=body, key=key)
    text = client.get("/metrics").get_data(as_text=True)
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def test_the_dashboard_queries_only_metrics_the_bank_exports(client, alice, bob,
                                                             admin_headers):
    """Panels and annotations alike; besides the bank's metrics, only the series
    Prometheus itself keeps for the shipped rules' alerts (ALERTS)."""
    exported = exported_metrics(client, alice, bob, admin_headers)
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "banksim.json")
                           .read_text())
    expressions = [target["expr"] for panel in dashboard["panels"]
                   for target in panel["targets"]]
    annotations = [a["expr"] for a in dashboard["annotations"]["list"]]
    queried = {name for expr in expressions + annotations for name in METRIC.findall(expr)}
    assert {"http_requests_total", "http_request_duration_seconds_bucket",
            "chaos_injections_total", "ALERTS"} <= queried
    assert queried - {"ALERTS"} <= exported, queried - exported


def test_the_dashboard_marks_releases_and_chaos_changes_and_shows_firing_alerts():
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "banksim.json")
                           .read_text())
    annotations = " ".join(a["expr"] for a in dashboard["annotations"]["list"] if a["enable"])
    assert "banksim_release_published_timestamp_seconds" in annotations
    assert "chaos_rules_revision" in annotations
    assert any('ALERTS{alertstate="firing"}' in target["expr"]
               for panel in dashboard["panels"] for target in panel["targets"])


def test_prometheus_loads_the_shipped_alert_rules():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert config["rule_files"] == [container_path("prometheus", "./deploy/alerts.yml")]


def test_the_image_copies_every_package_the_project_installs():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "deploy" / "Dockerfile").read_text(),
                            flags=re.M))
    assert packages == copied
