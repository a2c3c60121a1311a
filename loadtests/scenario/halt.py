"""`halt_on_alert: true`: the release pipeline pauses a phased release when monitoring fires.

The master (or the local runner) collects every journey; `HaltOnAlert.check` runs the
report's own burn-rate detector on what has finished so far, and the first time it fires
at or after the incident started, halts the rollout of the release the step that starts
`incident` published (`PATCH /admin/releases/{version} {"halted": true}` through the
timeline driver, so later steps changing it are skipped). Pure apart from the driver:
the caller hands in the journeys and the time, so tests use a fake clock and admin.
"""
import logging

from loadtests.report.detector import DetectorSettings, detect
from loadtests.report.events import coerce_events

log = logging.getLogger(__name__)


class HaltOnAlert:
    def __init__(self, versions: list[str], incident_start_s: float | None,
                 settings: DetectorSettings, driver):
        self.versions, self.incident_start_s = versions, incident_start_s
        self.settings, self.driver = settings, driver
        self.halted_at_s: float | None = None
        self.detected_at_s: float | None = None

    @property
    def done(self) -> bool:
        return self.halted_at_s is not None or self.detected_at_s is not None

    def check(self, journeys: list[dict], now_s: float) -> float | None:
        """Halt once the alert has fired; the time of the halt (None until then)."""
        if self.done or self.incident_start_s is None or now_s < self.incident_start_s:
            return self.halted_at_s
        finished = [e for e in coerce_events(journeys) if e.finished_s <= now_s]
        detection = detect(finished, self.settings, incident_start_s=self.incident_start_s,
                           end_s=now_s)
        if detection.detected_at_s is None:
            return None
        self.detected_at_s = detection.detected_at_s
        log.warning("halt_on_alert: the %s alert fired at %.1fs; halting %s",
                    detection.detected_by, detection.detected_at_s, ", ".join(self.versions))
        if self.versions and all([self.driver.halt(v) for v in self.versions]):
            self.halted_at_s = round(now_s, 3)
        return self.halted_at_s
