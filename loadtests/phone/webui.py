"""Journey success per app version in Locust's web UI, live while a test runs.

Two tabs, "Journeys by app version" and "Journeys by name and version": tables that
Locust's React UI declares from `template_args` ("extended_tabs", "extended_tables")
and fills from the "extended_stats" of its /stats/requests poll (every 2 s), which
this module adds. The same data is served as JSON at GET /journeys. The numbers come
from the runner's stats (`loadtests.phone.journey_board`), so on a distributed master they
cover every worker; workers and headless runs have no web UI and get nothing.
"""
import json
import time

from flask import jsonify, request

from loadtests.phone.journey_board import RECENT_WINDOW_S, board

_RECENT = f"last {RECENT_WINDOW_S} s"
_COUNTS = [{"key": "journeys", "title": "Journeys"},
           {"key": "failed", "title": "Failed"},
           {"key": "success_pct", "title": "Success %"},
           {"key": "recent_journeys", "title": f"Journeys, {_RECENT}"},
           {"key": "recent_success_pct", "title": f"Success %, {_RECENT}"}]
_VERSION = {"key": "app_version", "title": "App version"}
# tab key: (tab title, the board's list of rows, the columns before the counts)
TABS = {"journeys-by-version": ("Journeys by app version", "versions", [_VERSION]),
        "journeys-by-name": ("Journeys by name and version", "journeys",
                             [_VERSION, {"key": "journey", "title": "Journey"}])}


def add_journey_tabs(environment) -> None:
    """Declare the tabs and add the routes behind them; call from `events.init`."""
    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"key": key, "title": title}
                                             for key, (title, _, _) in TABS.items()]
    web_ui.template_args["extended_tables"] = [{"key": key, "structure": columns + _COUNTS}
                                               for key, (_, _, columns) in TABS.items()]

    def current_board() -> dict:
        return board(environment.runner.stats.entries.values(), now=time.time())

    base_path = (environment.parsed_options.web_base_path or "").rstrip("/")

    @web_ui.app.route(f"{base_path}/journeys")
    @web_ui.auth_required_if_enabled
    def journeys():
        """Journey success per app version, and per journey and version, as JSON."""
        return jsonify(current_board())

    @web_ui.app.after_request
    def add_journeys_to_stats_poll(response):
        if request.endpoint != "locust.request_stats" or not response.is_json:
            return response
        rows = current_board()
        extended = [{"key": key, "data": rows[kind]} for key, (_, kind, _) in TABS.items()]
        response.set_data(json.dumps({**response.get_json(), "extended_stats": extended}))
        return response
