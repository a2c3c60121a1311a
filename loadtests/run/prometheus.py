"""A real Prometheus beside a replay (`banksim incident --prometheus`), and what it alerted.

`PrometheusRun` owns a temporary directory (its configuration, the rule files as loaded
and the TSDB), removed by `close()` whatever ended the run. `start` runs the `prometheus`
binary from PATH as one of the run's `Children` (its own process group, stopped with the
bank and Locust on Ctrl-C, SIGTERM or SIGHUP), on 127.0.0.1 at a free port, scraping the
bank's /metrics and evaluating the rules every SCRAPE_S. `save_alerts` asks its HTTP API,
before anything stops, which alerting rules it loaded and when each alert was firing
(`ALERTS{alertstate="firing"}` over the run), and writes alerts.json
(`loadtests.report.alerts` reads it).
"""
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import yaml

from loadtests.run.alert_rules import AlertRules, binaries, write_for_run
from loadtests.run.children import Children

SCRAPE_S = 1  # scrape and evaluation interval, seconds
READY_TIMEOUT_S = 30
GAP_S = 2.5  # a firing series missing for longer than this (at 1 s steps) had stopped


class PrometheusRun:
    def __init__(self, rules: AlertRules):
        self.rules = rules
        self.directory = Path(tempfile.mkdtemp(prefix="banksim-prometheus-"))
        self.url: str | None = None
        self.process: subprocess.Popen | None = None
        self.started_at = time.time()

    def start(self, children: Children, bank_port: int, port: int, log_path: Path,
              console) -> None:
        """Start Prometheus scraping the bank on `bank_port`; RuntimeError (naming its log)
        when it exits or is not ready within READY_TIMEOUT_S."""
        prometheus, _ = binaries()
        config = {"global": {"scrape_interval": f"{SCRAPE_S}s",
                             "evaluation_interval": f"{SCRAPE_S}s"},
                  "rule_files": [str(p) for p in write_for_run(self.rules, self.directory)],
                  "scrape_configs": [{"job_name": "banksim", "metrics_path": "/metrics",
                                      "static_configs": [
                                          {"targets": [f"127.0.0.1:{bank_port}"]}]}]}
        (self.directory / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        self.url = f"http://127.0.0.1:{port}"
        with open(log_path, "w") as log:
            self.process = children.start(
                [prometheus, f"--config.file={self.directory / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self.directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started_at = time.time()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}; "
                                   f"see {log_path}")
            try:
                if requests.get(self.url + "/-/ready", timeout=1).ok:
                    console.print(f"prometheus at {self.url} with {self.rules.describe()} "
                                  f"(data in {self.directory}, removed at the end)",
                                  highlight=False)
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus was not ready in {READY_TIMEOUT_S} s; see {log_path}")

    def save_alerts(self, path: Path, run_started_at: float) -> None:
        """alerts.json: the alerting rules loaded and, per alert label set that fired,
        its firing intervals in seconds since `run_started_at` (epoch seconds).
        requests.RequestException or ValueError when Prometheus does not answer."""
        time.sleep(2 * SCRAPE_S)  # the last scrape, and the evaluation after it
        end = time.time()
        rules = self._api("/api/v1/rules", {"type": "alert"})["groups"]
        series = self._api("/api/v1/query_range", {
            "query": 'ALERTS{alertstate="firing"}', "start": f"{self.started_at:.3f}",
            "end": f"{end:.3f}", "step": f"{SCRAPE_S}s"})["result"]
        firing = []
        for one in series:
            labels = {k: v for k, v in one["metric"].items()
                      if k not in ("__name__", "alertname", "alertstate")}
            times = [float(t) for t, _ in one["values"]]
            firing.append({"name": one["metric"]["alertname"], "labels": labels,
                           "intervals": intervals(times, end, run_started_at)})
        document = {
            "rules_files": [str(f) for f in self.rules.files], "speedup": self.rules.speedup,
            "scrape_interval_s": SCRAPE_S, "run_started_at": run_started_at,
            "ended_at_s": round(end - run_started_at, 3),
            "rules": [{"name": rule["name"], "labels": rule.get("labels") or {}}
                      for group in rules for rule in group["rules"]],
            "firing": firing}
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    def record(self, files: dict, locust_started: float, console) -> None:
        """save_alerts into files["alerts"], the times since Locust's start (steps.json's
        run_started_at, else when Locust was started); a warning when Prometheus fails."""
        try:
            steps = json.loads(files["steps"].read_text(encoding="utf-8"))
            origin = float(steps["run_started_at"])
        except (OSError, ValueError, TypeError, KeyError):
            origin = locust_started
        try:
            self.save_alerts(files["alerts"], origin)
        except (requests.RequestException, ValueError, KeyError) as exc:
            files["alerts"].unlink(missing_ok=True)
            console.print(f"[yellow]prometheus did not say which alerts fired ({exc}); "
                          f"see {files['prometheus_log']}[/]", highlight=False)

    def _api(self, endpoint: str, params: dict) -> dict:
        answer = requests.get(self.url + endpoint, params=params, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        if body.get("status") != "success":
            raise ValueError(f"prometheus {endpoint}: {body.get('error')}")
        return body["data"]

    def close(self) -> None:
        """Remove the temporary directory (the children were stopped before)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def intervals(times: list[float], end: float, origin: float) -> list[list]:
    """Sorted sample times of a firing series as [[start_s, end_s], ...] since `origin`;
    end_s is None for an interval still open at `end` (the last query time)."""
    found: list[list[float]] = []  # [first, last] sample time of each interval
    for moment in sorted(times):
        if found and moment - found[-1][1] <= GAP_S:
            found[-1][1] = moment
        else:
            found.append([moment, moment])
    return [[round(first - origin, 3),
             None if end - last <= GAP_S else round(last + SCRAPE_S - origin, 3)]
            for first, last in found]
