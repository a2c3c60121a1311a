"""What each customer tries to do with their money, before the bank says yes or no.

`plan_events` turns every profile into candidate money movements over the
calendar: pay-day salaries, the odd card top-up, subscriptions on their day,
rent (to the letting agent, or to the flatmate who pays them), savings after
payday, friends paying each other back, and everyday card payments whose
merchant, amount and time of day fit together (coffee at 8am, the big shop on
Saturday morning, a taxi home at 1am on a Friday).

An event is a plain tuple `(second, op, account, other, amount, text,
category)`, sorted by second with a stable sort, so ties keep their planning
order and the result is deterministic. Whether an event happens is decided
later, in time order, by `seed.simulate`, because a payment can only be made
with money that has already arrived.

This is the hot loop of seeding (a million events for 10,000 users), so it
draws with `random()` and a table of normal deviates rather than `randrange`
and `gauss`, which cost several times more per call.
"""
import calendar as cal
from bisect import bisect
from math import exp
from operator import itemgetter
from random import Random

from .calendar import DAY_S, Calendar
from .people import LOCAL_PREFERENCE, Customer, Population
from .pools import FRIEND_REFERENCES, HABITS, Habit

TOPUP, CARD, TRANSFER = 0, 1, 2
NORMAL_TABLE_SIZE = 1 << 16
FRIEND_PAYBACKS_PER_MONTH = 0.4  # for customers with friends


def _compile(habit: Habit, calendar: Calendar) -> tuple:
    """A habit as a flat tuple: hours in seconds, its day pool resolved, log of median."""
    first_s, last_s = int(habit.hours[0] * 3600), int(habit.hours[1] * 3600)
    return (habit.merchant, habit.category, habit.median_pence, habit.sigma, first_s,
            last_s - first_s, calendar.by_kind[habit.days], habit.round_to)


class _Draw:
    """Fast seeded draws. Normal deviates come from a table filled once from the seed:
    65,536 values are plenty for amounts, and a lookup is five times cheaper than gauss."""

    def __init__(self, rng: Random):
        self.rng, self.random = rng, rng.random
        self.normals = [rng.gauss(0.0, 1.0) for _ in range(NORMAL_TABLE_SIZE)]

    def normal(self) -> float:
        return self.normals[int(self.random() * NORMAL_TABLE_SIZE)]

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def second(self, day: int, first_h: float, last_h: float) -> int:
        return day * DAY_S + int((first_h + (last_h - first_h) * self.random()) * 3600)

    def lognormal(self, median: float, sigma: float) -> int:
        return int(median * exp(sigma * self.normal()))


class _Catalogue:
    """Habits by category, with cumulative weights for `bisect`."""

    def __init__(self, calendar: Calendar, local_habits):
        self.by_category: dict[str, tuple[list, list, float]] = {}
        for category in sorted({h.category for h in HABITS}):
            habits = [h for h in HABITS if h.category == category]
            cum, total = [], 0.0
            for h in habits:
                total += h.weight
                cum.append(total)
            self.by_category[category] = ([_compile(h, calendar) for h in habits], cum, total)
        self.local = {id(h): _compile(h, calendar) for h in local_habits}


def plan_events(rng: Random, population: Population, calendar: Calendar, local_habits=(),
                advance=None) -> list[tuple]:
    """Every customer's candidate events, sorted by time; `advance(n)` reports customers."""
    catalogue, draw = _Catalogue(calendar, local_habits), _Draw(rng)
    events: list[tuple] = []
    for customer in population.customers:
        _income(draw, customer, calendar, events)
        _recurring(draw, customer, population, calendar, events)
        _friends_paying_back(draw, customer, population, calendar, events)
        _card_payments(draw, customer, calendar, catalogue, events)
        if advance and customer.index % 500 == 499:
            advance(500)
    if advance:
        advance(len(population.customers) % 500)
    events.sort(key=itemgetter(0))
    return events


def _income(draw: _Draw, c: Customer, calendar, events) -> None:
    add, days = events.append, len(calendar.days)
    # the balance brought into the history, in its first hour
    add((draw.below(3600), TOPUP, c.current, -1, max(2_000, draw.lognormal(60_000, 0.8)),
         "Top-up", None))
    salary_text = f"Salary {c.employer}"
    for day in calendar.paydays(c.payday_rule):
        add((draw.second(day, 5, 7), TOPUP, c.current, -1,
             int(c.salary * (1 + 0.03 * draw.normal())), salary_text, None))
        if c.savings >= 0 and day + 1 < days:
            add((draw.second(day + 1, 8, 10), TRANSFER, c.current, c.savings, c.save_pence,
                 "Savings", None))
            if draw.random() < 0.12 and day + 10 < days:
                add((draw.second(day + 5 + draw.below(5), 9, 22), TRANSFER, c.savings,
                     c.current, c.save_pence // 2, "From savings", None))
    for _ in range(int(c.topups_per_month * len(calendar.months) + draw.random())):
        add((draw.second(draw.below(days), 8, 23), TOPUP, c.current, -1,
             max(500, round(draw.lognormal(10_000, 0.6), -2)), "Top-up", None))


def _recurring(draw: _Draw, c: Customer, population, calendar, events) -> None:
    """Subscriptions and bills charged overnight on their day; rent around the 1st."""
    add = events.append
    for merchant, category, amount, day_of_month in c.subscriptions:
        for day in calendar.monthly(day_of_month):
            add((draw.second(day, 2, 7), CARD, c.current, -1, amount, merchant, category))
    if c.housing_payee:  # the whole rent (flat lead), their own rent, or a mortgage
        for day in calendar.monthly(1):
            add((draw.second(day, 9, 11), CARD, c.current, -1, c.housing_pence, c.housing_payee,
                 "bills"))
    if c.flat_lead >= 0 and c.flat_lead != c.index:  # a flatmate sends their share
        lead = population.customers[c.flat_lead]
        for day in calendar.paydays(c.payday_rule):
            day += draw.below(3)
            if day < len(calendar.days):
                month = cal.month_abbr[calendar.days[day].month % 12 + 1]
                add((draw.second(day, 18, 23), TRANSFER, c.current, lead.current,
                     c.housing_pence, f"Rent {month}", None))


def _friends_paying_back(draw: _Draw, c: Customer, population, calendar, events) -> None:
    if not c.friends:
        return
    add, customers, days = events.append, population.customers, len(calendar.days)
    for _ in range(int(FRIEND_PAYBACKS_PER_MONTH * len(calendar.months) + draw.random())):
        friend = customers[c.friends[draw.below(len(c.friends))]]
        add((draw.second(draw.below(days), 18, 23.5), TRANSFER, friend.current, c.current,
             max(300, round(draw.lognormal(1_800, 0.6), -1)),
             FRIEND_REFERENCES[draw.below(len(FRIEND_REFERENCES))], None))


def _card_payments(draw: _Draw, c: Customer, calendar, catalogue: _Catalogue, events) -> None:
    """Everyday spending: category by the customer's taste, then merchant, day, time, amount."""
    add, end, random, normals = events.append, calendar.seconds, draw.random, draw.normals
    count = int(c.payments_per_month * len(calendar.days) / 30.4 + random())
    by_category, local = catalogue.by_category, catalogue.local
    locals_ = {cat: [local[id(h)] for h in hs] for cat, hs in c.locals.items()}
    for category in draw.rng.choices(c.categories, cum_weights=c.category_cum, k=count):
        mine = locals_.get(category)
        if mine and random() < LOCAL_PREFERENCE:
            habit = mine[int(random() * len(mine))]
        else:
            habits, cum, total = by_category[category]
            habit = habits[bisect(cum, random() * total)]
        merchant, category, median, sigma, first_s, span_s, days, round_to = habit
        second = days[int(random() * len(days))] * DAY_S + first_s + int(random() * span_s)
        if second >= end:
            continue
        amount = int(median * exp(sigma * normals[int(random() * NORMAL_TABLE_SIZE)]))
        if round_to > 1:
            amount = max(1, round(amount / round_to)) * round_to
        add((second, CARD, c.current, -1, max(amount, 50), merchant, category))
