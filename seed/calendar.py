"""The seeded history's calendar: which days exist, which are weekdays, when is payday.

Times inside the planner are whole seconds since `start` (an int sorts and adds far
faster than a datetime); they become datetimes only for the rows that are written.
"""
import calendar as cal
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

DAY_S = 86_400
PAYDAY_RULES = ("25th", "last_working_day", "28th", "15th", "1st")


def months_back(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to month end)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, cal.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _working_day_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def payday(year: int, month: int, rule: str) -> date:
    """UK employers pay on a fixed date, moved back to the Friday when it falls at a weekend."""
    last = cal.monthrange(year, month)[1]
    nominal = {"25th": 25, "28th": 28, "15th": 15, "1st": 1, "last_working_day": last}[rule]
    return _working_day_on_or_before(date(year, month, nominal))


@dataclass
class Calendar:
    start: datetime
    until: datetime
    days: list[date] = field(init=False)
    by_kind: dict[str, list[int]] = field(init=False)  # day indexes: any, weekday, weekend, fri_sat
    months: list[tuple[int, int]] = field(init=False)

    def __post_init__(self):
        first = self.start.date()
        count = (self.until.date() - first).days
        self.days = [first + timedelta(days=i) for i in range(count)]
        self.by_kind = {"any": list(range(count)),
                        "weekday": [i for i, d in enumerate(self.days) if d.weekday() < 5],
                        "weekend": [i for i, d in enumerate(self.days) if d.weekday() >= 5],
                        "fri_sat": [i for i, d in enumerate(self.days) if d.weekday() in (4, 5)]}
        for kind, indexes in self.by_kind.items():
            if not indexes:  # a history of a day or two may have no weekend
                self.by_kind[kind] = self.by_kind["any"]
        self.months = sorted({(d.year, d.month) for d in self.days})
        self._paydays: dict[str, list[int]] = {}
        self._monthly: dict[int, list[int]] = {}

    @property
    def seconds(self) -> int:
        return len(self.days) * DAY_S

    def day_index(self, day: date) -> int | None:
        index = (day - self.days[0]).days
        return index if 0 <= index < len(self.days) else None

    def month_day(self, year: int, month: int, day: int) -> int | None:
        """Index of that day of the month (clamped to month end), if inside the history."""
        return self.day_index(date(year, month, min(day, cal.monthrange(year, month)[1])))

    def paydays(self, rule: str) -> list[int]:
        """Day indexes of each month's payday under `rule` (memoised: asked per customer)."""
        if rule not in self._paydays:
            found = (self.day_index(payday(y, m, rule)) for y, m in self.months)
            self._paydays[rule] = [i for i in found if i is not None]
        return self._paydays[rule]

    def monthly(self, day_of_month: int) -> list[int]:
        """Day indexes of that day in every month of the history (memoised)."""
        if day_of_month not in self._monthly:
            found = (self.month_day(y, m, day_of_month) for y, m in self.months)
            self._monthly[day_of_month] = [i for i in found if i is not None]
        return self._monthly[day_of_month]

    def moment(self, second: int) -> datetime:
        return self.start + timedelta(seconds=second)

    def text_tables(self) -> tuple[list[str], list[str]]:
        """`days[d] + clock[s]` is second `d * DAY_S + s` as the text SQLAlchemy stores for a
        datetime ("2026-11-22 08:15:00.000000"): two lookups and a concatenation, where
        building and formatting a datetime costs a microsecond or two, a million times."""
        days = [f"{day.isoformat()} " for day in self.days]
        clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000" for s in range(DAY_S)]
        return days, clock
