"""halt_on_alert: the live detector halts the incident's release once, through the driver."""
from tests.helpers.halt_streams import failing_journeys

from loadtests.scenario.halt import HaltOnAlert
from loadtests.report.detector import DetectorSettings


class FakeDriver:
    def __init__(self, accepts=True):
        self.halts, self.accepts = [], accepts

    def halt(self, version):
        self.halts.append(version)
        return self.accepts


SETTINGS = DetectorSettings.for_run(100)


def test_nothing_happens_before_the_incident_or_while_healthy():
    driver = FakeDriver()
    halter = HaltOnAlert(["4.2.0"], 30.0, SETTINGS, driver)
    assert halter.check(failing_journeys(0, 20, bad=True), 20) is None  # before the incident
    assert halter.check(failing_journeys(0, 50, bad=False), 50) is None  # incident, healthy
    assert driver.halts == []


def test_the_alert_halts_the_incident_release_once():
    driver = FakeDriver()
    halter = HaltOnAlert(["4.2.0"], 30.0, SETTINGS, driver)
    journeys = failing_journeys(0, 30, bad=False) + failing_journeys(30, 60, bad=True)
    assert halter.check(journeys, 30.3) is None  # three failures: not yet a burn
    assert halter.check(journeys, 45) == 45
    assert halter.check(journeys, 50) == 45 and driver.halts == ["4.2.0"]
    assert 30 < halter.detected_at_s <= 45


def test_a_halt_the_bank_refuses_leaves_halted_at_null_and_is_not_retried():
    driver = FakeDriver(accepts=False)
    halter = HaltOnAlert(["4.2.0"], 30.0, SETTINGS, driver)
    journeys = failing_journeys(0, 30, bad=False) + failing_journeys(30, 60, bad=True)
    assert halter.check(journeys, 45) is None and halter.check(journeys, 50) is None
    assert driver.halts == ["4.2.0"] and halter.detected_at_s is not None


def test_journeys_not_yet_finished_do_not_count():
    driver = FakeDriver()
    halter = HaltOnAlert(["4.2.0"], 30.0, SETTINGS, driver)
    journeys = failing_journeys(0, 30, bad=False) + failing_journeys(30, 60, bad=True,
                                                                      duration_ms=60_000)
    assert halter.check(journeys, 45) is None  # every failure ends after 90 s
