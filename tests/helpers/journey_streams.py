"""Synthetic journey streams for the report tests: a bad release replayed without a bank.

`make_stream` plays the bad-release story deterministically (random.Random(seed)):
everyone starts on 4.1.x; when the incident phase starts, a share of the users installs
4.2.0 within a few seconds, and 4.2.0 fails `bad_failure_rate` of its journeys; when the
recovery phase starts they install 4.2.1 within a few seconds (unless `hotfix=False`)
and failures stop.
"""
import random
from dataclasses import dataclass

from loadtests.report.events import JOURNEYS

PHASE_SHARES = (("baseline", 0.0, 0.25), ("incident", 0.25, 0.60), ("recovery", 0.60, 1.0))


@dataclass
class Stream:
    events: list[dict]
    phases: list[dict]
    duration_s: float

    def phase(self, name: str) -> dict:
        return next(p for p in self.phases if p["name"] == name)

    def meta(self, **overrides) -> dict:
        users = len({e["user"] for e in self.events})
        return {"scenario": "bad-release", "seed": 7, "users": users,
                "duration_s": self.duration_s, "client_policy": "backoff", **overrides}


def make_stream(users: int = 40, duration_s: float = 120.0, seed: int = 7,
                bad_failure_rate: float = 0.4, adopters: float = 0.6, noise: float = 0.0,
                incident: bool = True, hotfix: bool = True,
                update_within_s: float = 8.0) -> Stream:
    rng = random.Random(seed)
    phases = [{"name": n, "start_s": round(duration_s * a, 3), "end_s": round(duration_s * b, 3)}
              for n, a, b in PHASE_SHARES]
    incident_s, recovery_s = phases[1]["start_s"], phases[2]["start_s"]
    events = []
    for n in range(1, users + 1):
        user = f"user{n}@example.com"
        platform = rng.choice(("ios", "android"))
        baseline = rng.choice(("4.1.3", "4.1.3", "4.1.2"))
        adopts = incident and rng.random() < adopters
        bad_from = incident_s + rng.uniform(0, update_within_s)
        fixed_from = recovery_s + rng.uniform(0, update_within_s) if hotfix else float("inf")
        t = rng.uniform(0, 2)
        while t < duration_s:
            version = baseline
            if adopts and t >= bad_from:
                version = "4.2.1" if t >= fixed_from else "4.2.0"
            phase = next(p["name"] for p in reversed(phases) if t >= p["start_s"])
            fails = rng.random() < (bad_failure_rate if version == "4.2.0" else noise)
            retries = rng.randint(2, 3) if fails else (rng.random() < 0.1) * 1
            steps = rng.randint(1, 4)
            events.append({
                "t_s": round(t, 3), "user": user, "journey": rng.choice(JOURNEYS),
                "app_version": version, "platform": platform, "phase": phase, "ok": not fails,
                "duration_ms": round(rng.uniform(1500, 3000) if fails else rng.uniform(60, 600), 1),
                "retries": retries, "requests": steps + retries,
                "error": "GET /accounts: connection reset (ConnectionError)" if fails else None})
            t += rng.uniform(1.5, 2.5)
    events.sort(key=lambda e: e["t_s"])
    return Stream(events, phases, duration_s)


def event(**fields) -> dict:
    """One hand-written journey event; unspecified fields get plain defaults."""
    defaults = {"t_s": 0.0, "user": "user1@example.com", "journey": "send_money",
                "app_version": "4.1.3", "platform": "ios", "phase": "baseline", "ok": True,
                "duration_ms": 100.0, "retries": 0, "requests": 1, "error": None}
    return {**defaults, **fields}


def slow_release(users: int = 20, duration_s: float = 90.0, seed: int = 7) -> Stream:
    """A release that hurts by latency on one platform only: when the incident starts,
    every iOS user installs 4.3.0, whose journeys take 2.0-4.0 s; Android stays on 4.2.2
    at about 13 ms. Nothing fails. Two phases: baseline, then incident."""
    rng = random.Random(seed)
    incident_s = round(duration_s / 3, 3)
    phases = [{"name": "baseline", "start_s": 0.0, "end_s": incident_s},
              {"name": "incident", "start_s": incident_s, "end_s": duration_s}]
    events = []
    for n in range(1, users + 1):
        platform = ("ios", "android")[n % 2]
        t = rng.uniform(0, 2)
        while t < duration_s:
            slow = platform == "ios" and t >= incident_s
            events.append(event(
                t_s=round(t, 3), user=f"user{n}@example.com", journey=rng.choice(JOURNEYS),
                app_version="4.3.0" if slow else "4.2.2", platform=platform,
                phase="incident" if t >= incident_s else "baseline",
                duration_ms=round(rng.uniform(2000, 4000) if slow else rng.uniform(10, 16), 1)))
            t += rng.uniform(1.5, 2.5)
    events.sort(key=lambda e: e["t_s"])
    return Stream(events, phases, duration_s)
