"""`locust -f loadtests/locustfile.py`: the phone itself lives in loadtests/phone/locustfile.py."""
from loadtests.phone.locustfile import MobileCustomer  # noqa: F401  (Locust collects User classes here)
