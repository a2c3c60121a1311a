"""The open load model's arrivals: when journeys start, which phone takes each, what is dropped.

Pure: no gevent here (the coordinator runs the loop and parks phones on its own events),
so tests drive it with a seeded `Random` and plain objects.

- `PoissonSchedule`: arrival times of a Poisson process whose rate is piecewise constant
  (the scenario's `load.rate`, then each timeline step's `load: {rate}`); a worker of a
  distributed run draws its share of the rate. The gaps are exponential, and at a rate
  change the draw starts again from the change (the process is memoryless, so this is
  exact).
- `FreePhones`: the phones waiting for a journey. An arrival takes the one that became free
  last (its app is still signed in and warm; phones that have not been needed stay cold,
  as most of a bank's customers are at any moment); an arrival that finds none is
  DROPPED, never queued: a user whose app cannot start a journey now does not get one
  later on the same tap.
- `ArrivalTally`: offered, started and dropped arrivals per second of the run, for the
  report's `load` block (a worker drains it to the master, who merges).
"""
from bisect import bisect_right
from collections import deque
from random import Random


class PoissonSchedule:
    def __init__(self, rates: list[tuple[float, float]], rng: Random, share: float = 1.0):
        self.changes = sorted((float(at), float(rate)) for at, rate in rates)
        self.rng, self.share = rng, share

    def rate_at(self, t_s: float) -> float:
        index = bisect_right([at for at, _ in self.changes], t_s) - 1
        return self.changes[index][1] * self.share if index >= 0 else 0.0

    def _next_change(self, t_s: float) -> float | None:
        return next((at for at, _ in self.changes if at > t_s), None)

    def next_after(self, t_s: float) -> float | None:
        """The next arrival after `t_s` seconds; None when the rate stays 0 for good."""
        while True:
            rate, change = self.rate_at(t_s), self._next_change(t_s)
            if rate <= 0:
                if change is None:
                    return None
                t_s = change
                continue
            candidate = t_s + self.rng.expovariate(rate)
            if change is not None and candidate >= change:
                t_s = change
                continue
            return candidate


class ArrivalTally:
    """{second: [offered, started, dropped]}."""

    def __init__(self):
        self.seconds: dict[int, list[int]] = {}

    def count(self, t_s: float, started: bool) -> None:
        row = self.seconds.setdefault(max(0, int(t_s)), [0, 0, 0])
        row[0] += 1
        row[1 if started else 2] += 1

    def merge(self, rows: list[dict]) -> None:
        for row in rows or ():
            mine = self.seconds.setdefault(int(row["t_s"]), [0, 0, 0])
            mine[0] += row["offered"]
            mine[1] += row["started"]
            mine[2] += row["dropped"]

    def drain(self) -> list[dict]:
        rows = self.rows()
        self.seconds = {}
        return rows

    def rows(self) -> list[dict]:
        return [{"t_s": t, "offered": o, "started": s, "dropped": d}
                for t, (o, s, d) in sorted(self.seconds.items())]


class FreePhones:
    """Phones waiting for their next journey; each is parked on a waiter with `set(t_s)`."""

    def __init__(self):
        self.idle: deque = deque()

    def park(self, waiter) -> None:
        self.idle.append(waiter)

    def leave(self, waiter) -> None:
        """A phone stopped while it waited (the run ends): no arrival may pick it."""
        try:
            self.idle.remove(waiter)
        except ValueError:
            pass

    def arrive(self, t_s: float | None = None) -> bool:
        """Hand the arrival at `t_s` (seconds into the run; None: the run is stopping) to
        the free phone that became free last; False: none (dropped). The phone's journey
        counts from `t_s`, so it falls in the same second as its arrival in the report."""
        if not self.idle:
            return False
        self.idle.pop().set(t_s)
        return True
