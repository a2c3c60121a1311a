"""The open model's arrivals: a Poisson process at the scenario's rate whatever the phones do,
rate changes from timeline steps, drops when no phone is free, a worker's share."""
import statistics
from random import Random

from loadtests.phone.arrivals import ArrivalTally, FreePhones, PoissonSchedule


def arrivals(schedule, until_s):
    times, t = [], 0.0
    while (t := schedule.next_after(t)) is not None and t < until_s:
        times.append(t)
    return times


def test_arrivals_come_at_the_rate_with_exponential_gaps():
    times = arrivals(PoissonSchedule([(0, 20)], Random(1)), 500)
    assert 9500 < len(times) < 10500
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert abs(statistics.mean(gaps) - 0.05) < 0.003
    assert abs(statistics.stdev(gaps) - 0.05) < 0.005  # exponential: sd = mean


def test_a_rate_change_applies_from_its_time_on():
    times = arrivals(PoissonSchedule([(0, 5), (100, 50)], Random(2)), 200)
    before = sum(1 for t in times if t < 100)
    after = len(times) - before
    assert 400 < before < 600 and 4600 < after < 5400


def test_a_workers_share_divides_the_rate():
    assert len(arrivals(PoissonSchedule([(0, 40)], Random(3), share=0.25), 100)) in range(
        850, 1150)


def test_arrivals_need_no_phone_and_those_finding_none_are_dropped():
    phones, tally = FreePhones(), ArrivalTally()

    class Waiter:
        picked_at = None

        def set(self, t_s):
            self.picked_at = t_s

    waiters = [Waiter(), Waiter()]
    for waiter in waiters:
        phones.park(waiter)
    for t in (0.1, 0.2, 0.3, 1.5):
        tally.count(t, phones.arrive(t))
    # the phone that became free last goes first, and its journey counts from its arrival
    assert [w.picked_at for w in waiters] == [0.2, 0.1]
    assert tally.rows() == [{"t_s": 0, "offered": 3, "started": 2, "dropped": 1},
                            {"t_s": 1, "offered": 1, "started": 0, "dropped": 1}]


def test_a_phone_that_stopped_waiting_is_never_picked():
    phones = FreePhones()

    class Waiter:
        def set(self, t_s):
            raise AssertionError("a stopped phone was picked")

    waiter = Waiter()
    phones.park(waiter)
    phones.leave(waiter)
    assert phones.arrive() is False


def test_tallies_from_workers_add_up():
    master = ArrivalTally()
    master.merge([{"t_s": 3, "offered": 2, "started": 1, "dropped": 1}])
    master.merge([{"t_s": 3, "offered": 1, "started": 1, "dropped": 0}])
    assert master.drain() == [{"t_s": 3, "offered": 3, "started": 2, "dropped": 1}]
    assert master.rows() == []
