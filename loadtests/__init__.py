"""Load tests for banksim: simulated phones replaying an incident, and what it did to them.

Four rooms and the report:

- `phone/`: what runs inside Locust's process (the only room that imports locust or gevent);
- `scenario/`: a scenario file read, validated and played as a timeline;
- `run/`: `banksim incident` and `banksim loadtest`: the bank, Locust and stopping them all;
- `compare/`: `banksim compare`, several runs side by side;
- `report/`: report.json, report.html and the terminal summary, from the recorded journeys.

`locustfile.py` is the entry point users give `locust -f`.
"""
