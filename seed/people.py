"""Who the seeded customers are: identity, accounts, pay, habits, flatmates and friends.

Each customer's profile is drawn once, in user order, from one `random.Random`;
the history planner (`seed.plan`) then only reads these profiles. Ids are
drawn from the same generator (`user_` + 64 random bits, as `bankapi.ids`
formats them), so the same seed gives the same ids.
"""
from datetime import timedelta
from math import exp
from random import Random

from .calendar import DAY_S, PAYDAY_RULES, Calendar
from .pools import CATEGORY_WEIGHTS, MORTGAGE_LENDERS, SUBSCRIPTIONS, Pools

SAVINGS_SHARE = 0.4  # customers with a savings account
FLAT_SHARE = 0.45  # customers who start a shared flat (2-4 flatmates split the rent)
SOLO_RENT_SHARE = 0.3  # of the rest, customers who pay a letting agent alone
MORTGAGE_SHARE = 0.5  # of those left, customers paying a mortgage
BUDGET_SHARE = 0.25  # customers with a budget or two
LOCAL_PREFERENCE = 0.3  # chance an eating-out or care payment goes to the customer's locals


def new_id(rng: Random, prefix: str) -> str:
    return f"{prefix}_{rng.getrandbits(64):016x}"


def lognormal(rng: Random, median: float, sigma: float) -> int:
    return int(median * exp(sigma * rng.gauss(0.0, 1.0)))


def customer_email(number: int) -> str:
    """The email of the `number`th seeded customer (1-based): user1@example.com, ..."""
    return f"user{number}@example.com"


class Customer:
    """One seeded user and everything the planner needs to invent their history."""

    __slots__ = ("index", "user_id", "email", "name", "created", "current", "savings",
                 "salary", "payday_rule", "employer", "payments_per_month", "categories",
                 "category_cum", "locals", "subscriptions", "save_pence", "topups_per_month",
                 "flat_lead", "housing_pence", "housing_payee", "friends", "budget_categories")

    def __init__(self, index: int):
        self.index = index  # 0-based; the email is customer_email(index + 1)
        self.savings = -1  # account index, -1 without a savings account
        self.flat_lead = -1  # customer index of the flatmate who pays the landlord
        self.housing_pence = 0  # what this customer pays each month (share or whole rent)
        self.housing_payee = ""  # whom the rent or mortgage goes to, if anyone
        self.save_pence = 0  # moved to savings after each payday
        self.friends: list[int] = []
        self.budget_categories: tuple[str, ...] = ()


class Population:
    """The customers, their account rows and their user rows."""

    def __init__(self, rng: Random, pools: Pools, calendar: Calendar, count: int,
                 password_hash: str):
        self.customers: list[Customer] = []
        self.users: list[dict] = []
        self.accounts: list[dict] = []  # index = account number used by the planner
        self.account_owner: list[int] = []  # customer index per account
        for index in range(count):
            self._add(rng, pools, calendar, index, password_hash)
        self._share_flats(rng, pools)
        self._make_friends(rng)

    def _account(self, rng, customer, type_, name, created) -> int:
        self.accounts.append({"id": new_id(rng, "acc"), "user_id": customer.user_id,
                              "type": type_, "name": name, "currency": "GBP", "balance": 0,
                              "created": created})
        self.account_owner.append(customer.index)
        return len(self.accounts) - 1

    def _add(self, rng, pools, calendar, index, password_hash) -> None:
        c = Customer(index)
        c.user_id = new_id(rng, "user")
        c.email = customer_email(index + 1)
        c.name = f"{rng.choice(pools.first_names)} {rng.choice(pools.last_names)}"
        # joined the bank between a month and three years before the history starts
        c.created = calendar.start - timedelta(seconds=rng.randrange(30 * DAY_S, 1095 * DAY_S))
        self.users.append({"id": c.user_id, "email": c.email, "name": c.name,
                           "password_hash": password_hash, "created": c.created})
        c.current = self._account(rng, c, "current", "Current account", c.created)
        if rng.random() < SAVINGS_SHARE:
            opened = c.created + timedelta(seconds=rng.randrange(60, 20 * DAY_S))
            c.savings = self._account(rng, c, "savings", rng.choice(
                ("Savings", "Rainy day", "Holiday fund", "House deposit", "Emergency fund")),
                min(opened, calendar.start - timedelta(seconds=1)))
        c.salary = max(90_000, lognormal(rng, 150_000, 0.4))  # monthly net pay
        c.payday_rule = rng.choices(PAYDAY_RULES, weights=(40, 30, 12, 8, 10))[0]
        c.employer = rng.choice(pools.employers)
        c.payments_per_month = min(40.0, 0.5 + lognormal(rng, 2.3, 0.6))
        c.categories = tuple(CATEGORY_WEIGHTS)
        weights = [w * exp(0.5 * rng.gauss(0.0, 1.0)) for w in CATEGORY_WEIGHTS.values()]
        c.category_cum = [sum(weights[:i + 1]) for i in range(len(weights))]
        c.locals = {}
        for habit in rng.sample(pools.local_habits, 3):
            c.locals.setdefault(habit.category, []).append(habit)
        c.subscriptions, groups = [], set()
        for s in SUBSCRIPTIONS:
            if rng.random() < s.uptake and not (s.group and s.group in groups):
                groups.add(s.group)
                c.subscriptions.append((s.merchant, s.category, rng.choice(s.choices_pence),
                                        rng.randint(1, 28)))
        if c.savings >= 0:
            c.save_pence = max(1000, int(round(c.salary * rng.uniform(0.05, 0.2), -3)))
        c.topups_per_month = rng.choice((0.0, 0.0, 0.0, 0.3, 1.0))
        if rng.random() < BUDGET_SHARE:
            ranked = sorted(("eating_out", "groceries", "shopping", "entertainment", "transport"),
                            key=lambda cat: -weights[c.categories.index(cat)])
            c.budget_categories = tuple(ranked[:rng.randint(1, 2)])
        self.customers.append(c)

    def _share_flats(self, rng, pools) -> None:
        """Neighbouring customers form flats; the first pays the landlord, the rest pay them."""
        customers, i = self.customers, 0
        while i < len(customers):
            size = rng.randint(2, 4)
            if rng.random() < FLAT_SHARE and i + size <= len(customers):
                rent = max(80_000, round(lognormal(rng, 70_000 * size, 0.3), -2))
                agent = rng.choice(pools.letting_agents)
                for member in customers[i:i + size]:
                    member.flat_lead = customers[i].index
                    member.housing_pence = rent // size
                customers[i].housing_pence = rent  # the lead pays the whole rent
                customers[i].housing_payee = agent
                i += size
                continue
            if rng.random() < SOLO_RENT_SHARE:
                customers[i].housing_pence = max(50_000, round(lognormal(rng, 85_000, 0.3), -2))
                customers[i].housing_payee = rng.choice(pools.letting_agents)
            elif rng.random() < MORTGAGE_SHARE:
                customers[i].housing_pence = max(40_000, round(lognormal(rng, 90_000, 0.35), -2))
                customers[i].housing_payee = rng.choice(MORTGAGE_LENDERS)
            i += 1

    def _make_friends(self, rng) -> None:
        """Friends are mostly nearby in user order, so friend groups overlap like real ones."""
        n = len(self.customers)
        if n < 2:
            return
        for c in self.customers:
            if rng.random() < 0.65:
                for _ in range(rng.randint(2, 5)):
                    friend = (c.index + rng.randint(1, min(n - 1, 50))) % n
                    if friend not in c.friends:
                        c.friends.append(friend)
