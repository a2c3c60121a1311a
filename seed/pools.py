"""What seeded customers spend money on: a UK merchant catalogue and Faker name pools.

Faker is slow (tens of microseconds a call) and its output for a given seed is
only stable within one Faker version, so it is used a few thousand times to fill
pools, never once per row; everything per row is drawn from `random.Random(seed)`
out of these pools.

A `Habit` is one way of spending at a merchant: Pret A Manger is a weekday
coffee at 8am for about £3.80 *and* a lunch at 1pm for about £7.50. Amounts are
lognormal around `median_pence`; hours may pass 24 (26 is 2am the next night).
"""
from dataclasses import dataclass

from faker import Faker

# Share of a typical customer's everyday card payments by category (bills and most
# subscriptions are recurring and planned separately).
CATEGORY_WEIGHTS = {"eating_out": 30, "groceries": 22, "transport": 17, "shopping": 10,
                    "entertainment": 8, "personal_care": 4, "general": 4, "cash": 3,
                    "holidays": 1, "bills": 1}


@dataclass(frozen=True)
class Habit:
    merchant: str
    category: str
    median_pence: int
    sigma: float
    hours: tuple[float, float]
    days: str = "any"  # any, weekday, weekend, or fri_sat (nights out)
    weight: float = 1.0
    round_to: int = 1  # cash machines pay out in tens of pounds


def _h(merchant, category, median, sigma, hours, days="any", weight=1.0, round_to=1):
    return Habit(merchant, category, median, sigma, hours, days, weight, round_to)


HABITS = [
    # eating out: coffee mornings, lunch, dinners, takeaways
    _h("Pret A Manger", "eating_out", 380, 0.25, (7.5, 10), "weekday", 5),
    _h("Pret A Manger", "eating_out", 750, 0.3, (12, 14), "weekday", 4),
    _h("Costa Coffee", "eating_out", 350, 0.25, (7, 11), weight=3),
    _h("Starbucks", "eating_out", 420, 0.25, (7, 11), weight=2),
    _h("Caffe Nero", "eating_out", 360, 0.25, (7.5, 16), weight=2),
    _h("Greggs", "eating_out", 350, 0.35, (7.5, 14), "weekday", 3),
    _h("itsu", "eating_out", 900, 0.3, (12, 14), "weekday", 2),
    _h("LEON", "eating_out", 1000, 0.3, (12, 14.5), "weekday", 2),
    _h("Wasabi", "eating_out", 800, 0.25, (12, 14), "weekday", 1.5),
    _h("McDonald's", "eating_out", 750, 0.4, (11, 23), weight=2),
    _h("Nando's", "eating_out", 2200, 0.45, (18, 22), weight=2),
    _h("Wagamama", "eating_out", 2600, 0.4, (18, 22), weight=1.5),
    _h("Dishoom", "eating_out", 4500, 0.4, (19, 22.5), "fri_sat", 0.7),
    _h("PizzaExpress", "eating_out", 3000, 0.4, (18, 22), weight=1),
    _h("Deliveroo", "eating_out", 2500, 0.4, (19, 22.5), weight=2.5),
    _h("Just Eat", "eating_out", 2200, 0.4, (19, 23), weight=2),
    # groceries: evening top-up shops on weekdays, the big shop at the weekend
    _h("Tesco", "groceries", 2400, 0.6, (17, 20.5), "weekday", 4),
    _h("Tesco", "groceries", 5500, 0.45, (9, 13), "weekend", 2),
    _h("Tesco Express", "groceries", 650, 0.5, (7, 22.5), weight=3),
    _h("Sainsbury's", "groceries", 2600, 0.6, (17, 20.5), "weekday", 3),
    _h("Sainsbury's", "groceries", 5800, 0.45, (9, 14), "weekend", 2),
    _h("Sainsbury's Local", "groceries", 700, 0.5, (7, 22.5), weight=2),
    _h("Asda", "groceries", 6000, 0.45, (9, 17), "weekend", 1.5),
    _h("Aldi", "groceries", 3500, 0.5, (9, 20), weight=2),
    _h("Lidl", "groceries", 3200, 0.5, (9, 20), weight=2),
    _h("Waitrose", "groceries", 3800, 0.55, (10, 19), weight=1),
    _h("M&S Food", "groceries", 1200, 0.5, (12, 19.5), weight=2),
    _h("Co-op", "groceries", 900, 0.5, (8, 22), weight=2),
    _h("Morrisons", "groceries", 4000, 0.5, (9, 20), weight=1),
    _h("Ocado", "groceries", 7500, 0.35, (19, 23), weight=0.5),
    # transport: the commute, late taxis, trains, fuel
    _h("TfL", "transport", 280, 0.2, (7, 9.5), "weekday", 8),
    _h("TfL", "transport", 290, 0.2, (17, 19.5), "weekday", 6),
    _h("Uber", "transport", 1600, 0.5, (23, 26.5), "fri_sat", 2),
    _h("Uber", "transport", 1200, 0.5, (8, 21), weight=1.5),
    _h("Bolt", "transport", 1100, 0.5, (22, 26), "fri_sat", 0.7),
    _h("Trainline", "transport", 3500, 0.7, (7, 21), weight=1.5),
    _h("Shell", "transport", 5500, 0.3, (7, 21), weight=1),
    _h("BP", "transport", 5000, 0.3, (7, 21), weight=1),
    _h("Lime", "transport", 350, 0.4, (8, 22), weight=0.8),
    # shopping
    _h("Amazon", "shopping", 2500, 0.9, (8, 23.5), weight=10),
    _h("ASOS", "shopping", 4500, 0.6, (19, 23.5), weight=2),
    _h("John Lewis", "shopping", 6000, 0.8, (10, 18), "weekend", 1),
    _h("Argos", "shopping", 2500, 0.8, (10, 19), weight=1),
    _h("Primark", "shopping", 2200, 0.6, (10, 18), "weekend", 1.5),
    _h("Zara", "shopping", 4000, 0.5, (10, 19), weight=1),
    _h("Currys", "shopping", 9000, 1.0, (10, 19), weight=0.5),
    _h("IKEA", "shopping", 7000, 0.8, (10, 18), "weekend", 0.5),
    _h("eBay", "shopping", 2000, 0.8, (19, 23.5), weight=1.5),
    _h("Etsy", "shopping", 2500, 0.6, (19, 23.5), weight=0.8),
    # entertainment: cinema, tickets, games, nights out
    _h("Odeon", "entertainment", 1400, 0.3, (17, 21), weight=1.5),
    _h("Vue", "entertainment", 1300, 0.3, (17, 21), weight=1),
    _h("Ticketmaster", "entertainment", 6000, 0.6, (10, 22), weight=0.7),
    _h("Steam", "entertainment", 1500, 0.7, (19, 24), weight=1),
    _h("PlayStation Store", "entertainment", 2000, 0.7, (19, 24), weight=0.8),
    _h("Wetherspoons", "entertainment", 1200, 0.5, (18, 23.5), "fri_sat", 2),
    _h("BrewDog", "entertainment", 1800, 0.5, (19, 24.5), "fri_sat", 1.5),
    # holidays: rare and large
    _h("easyJet", "holidays", 9000, 0.6, (8, 22), weight=2),
    _h("Ryanair", "holidays", 6000, 0.6, (8, 22), weight=2),
    _h("British Airways", "holidays", 25000, 0.6, (8, 22), weight=1),
    _h("Booking.com", "holidays", 18000, 0.7, (20, 23), weight=1.5),
    _h("Airbnb", "holidays", 25000, 0.7, (20, 23), weight=1),
    _h("Premier Inn", "holidays", 8000, 0.4, (9, 21), weight=1),
    _h("Eurostar", "holidays", 12000, 0.5, (8, 22), weight=0.5),
    # personal care
    _h("Boots", "personal_care", 1200, 0.7, (9, 19), weight=4),
    _h("Superdrug", "personal_care", 900, 0.6, (9, 19), weight=2),
    _h("Lush", "personal_care", 1500, 0.5, (10, 18), weight=0.8),
    _h("Specsavers", "personal_care", 9000, 0.6, (9, 17.5), weight=0.2),
    # general and cash
    _h("PayPal", "general", 2000, 0.8, (10, 23.5), weight=3),
    _h("WHSmith", "general", 800, 0.6, (7, 19), weight=2),
    _h("Post Office", "general", 500, 0.6, (9, 17.5), "weekday", 1.5),
    _h("Royal Mail", "general", 300, 0.5, (9, 17.5), weight=1),
    _h("Timpson", "general", 1500, 0.4, (9, 17.5), weight=0.5),
    _h("LINK ATM", "cash", 3000, 0.6, (9, 23), weight=3, round_to=1000),
    _h("Post Office ATM", "cash", 2000, 0.5, (9, 17), weight=1, round_to=1000),
    _h("Thames Water", "bills", 2500, 0.4, (9, 21), weight=1),
    _h("Octopus Energy", "bills", 3000, 0.5, (9, 21), weight=0.5),
]


@dataclass(frozen=True)
class Subscription:
    merchant: str
    category: str
    choices_pence: tuple[int, ...]  # what the plan costs; one is picked per customer
    uptake: float  # share of customers who pay it
    group: str = ""  # at most one subscription per group (one phone network, one supplier)


SUBSCRIPTIONS = [
    Subscription("Netflix", "entertainment", (499, 1099, 1799), 0.4),
    Subscription("Spotify", "entertainment", (1199, 1699, 599), 0.35),
    Subscription("Disney+", "entertainment", (499, 799), 0.1),
    Subscription("Amazon Prime", "shopping", (899,), 0.25),
    Subscription("Apple iCloud", "general", (99, 299, 899), 0.15),
    Subscription("PureGym", "personal_care", (2199, 2499, 2999), 0.15),
    Subscription("EE", "bills", (1500, 2500, 3500), 0.2, "phone"),
    Subscription("Vodafone", "bills", (1200, 2200, 3000), 0.2, "phone"),
    Subscription("O2", "bills", (1400, 2400, 3200), 0.2, "phone"),
    Subscription("Three", "bills", (1000, 1800, 2600), 0.15, "phone"),
    Subscription("British Gas", "bills", (6500, 9000, 12000), 0.15, "energy"),
    Subscription("Octopus Energy", "bills", (5500, 8000, 11000), 0.15, "energy"),
    Subscription("Virgin Media", "bills", (3500, 4500, 6000), 0.12, "broadband"),
    Subscription("BT", "bills", (3000, 4000, 5500), 0.12, "broadband"),
    Subscription("TV Licence", "bills", (1413,), 0.1),
    Subscription("Council Tax", "bills", (12500, 15000, 18000), 0.15),
]

MORTGAGE_LENDERS = ("Nationwide Mortgage", "Halifax Mortgage", "Santander Mortgage",
                    "Barclays Mortgage", "NatWest Mortgage")

FRIEND_REFERENCES = ("Dinner", "Drinks", "Pizza last night", "Cinema", "Taxi home", "Tickets",
                     "Birthday present", "Thanks!", "Brunch", "Groceries", "Concert tickets",
                     "Petrol money", "Football", "Holiday deposit", "Takeaway", "Coffee")

PUB_NAMES = ("The Red Lion", "The Crown", "The Royal Oak", "The White Hart", "The Swan",
             "The Plough", "The Kings Arms", "The Rose and Crown", "The Bell", "The George",
             "The Ship", "The Fox and Hounds", "The Queens Head", "The Black Horse")


@dataclass(frozen=True)
class Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    employers: tuple[str, ...]
    letting_agents: tuple[str, ...]
    local_habits: tuple[Habit, ...]  # neighbourhood cafés, barbers and pubs, named by Faker


def build_pools(seed: int, size: int = 600) -> Pools:
    """Fill the pools with a seeded en_GB Faker: a few thousand calls in all."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    first = tuple(dict.fromkeys(fake.first_name() for _ in range(size)))
    last = tuple(dict.fromkeys(fake.last_name() for _ in range(size)))
    employers = tuple(dict.fromkeys(fake.company() for _ in range(size // 3)))
    agents = tuple(f"{fake.last_name()} & {fake.last_name()} Lettings" for _ in range(40))
    local = []
    for _ in range(30):
        street = fake.street_name()
        local.append(_h(f"{fake.last_name()}'s Kitchen", "eating_out", 1800, 0.4,
                        (12, 22), weight=0.3))
        local.append(_h(f"{street} Coffee", "eating_out", 330, 0.2, (7.5, 12), weight=0.3))
        local.append(_h(f"{fake.last_name()} Barbers", "personal_care", 1800, 0.2,
                        (9, 18), "weekend", 0.2))
    for pub in PUB_NAMES:
        local.append(_h(pub, "entertainment", 1500, 0.5, (19, 24), "fri_sat", 0.5))
    return Pools(first, last, employers, agents, tuple(local))
