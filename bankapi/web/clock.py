"""The test clock over HTTP (/admin/clock) and the bank's time set for each request."""
from apiflask import APIBlueprint
from flask import current_app, g, request

from ..clock import reset_offset, set_offset
from ..database.db import db
from ..domain import testclock
from .schemas import ClockAdvanceIn, ClockOut

bp = APIBlueprint("clock", __name__, tag="Admin")
CLOCK_PATH = "/admin/clock"  # the admin token is asked first (admin.init_app)


def init_app(app) -> None:
    """With the test clock on, every request runs on the bank's time (`bankapi.clock`).
    With it off, /admin/clock is 404 before its body is looked at (registered before
    `inputs`, after the admin token check)."""
    if app.state.clock is None:
        @app.before_request
        def clock_off():
            # a method the route does not take is routing's 405, as on any route
            if request.path.startswith(CLOCK_PATH) and request.routing_exception is None:
                testclock.enabled(None)
        return

    @app.before_request
    def bank_time():
        g.clock_token = set_offset(app.state.clock.offset())

    @app.teardown_request
    def real_time(_exc=None):
        token = g.pop("clock_token", None)
        if token is not None:
            reset_offset(token)


@bp.get("/admin/clock")
@bp.output(ClockOut)
@bp.doc(responses=[404])
def clock_status():
    """The bank's time and the test clock's offset (404 unless BANKSIM_TEST_CLOCK=1)."""
    clock = testclock.enabled(current_app.state.clock)
    with db.reading() as connection:
        return testclock.status(clock.learn(testclock.offset_s(connection)))


@bp.post("/admin/clock/advance")
@bp.input(ClockAdvanceIn)
@bp.output(ClockOut)
@bp.doc(responses=[404])
def advance_clock(json_data):
    """Move the bank's time forward (never back; at most 400 days a call)."""
    clock = testclock.enabled(current_app.state.clock)
    with db.write() as session:
        moved = testclock.advance(session, json_data["seconds"])
    clock.learn(moved["offset_s"])
    return moved
