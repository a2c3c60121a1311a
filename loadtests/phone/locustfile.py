"""banksim's mobile users for Locust: one persona, the bank's app customer.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000
    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 3m --host URL \\
        --scenario bad-release --client-policy backoff \\
        --journeys-out run/journeys.jsonl --transfers-out run/transfers.jsonl \\
        --phases-out run/phases.json      # with BANKSIM_ADMIN_TOKEN in the environment

`--scenario NAME|PATH` (a built-in or a YAML file, docs/scenarios.md) gives the phones'
platforms, starting versions, think time and adoption; the master (or the local runner)
plays its timeline. Every process loads the same file, so workers need the same
`--scenario`. Without one, the run is the baseline of bad-release: no timeline.

Each simulated user is one phone of a seeded customer user{n}@example.com (password
"banksim"). Phones behave like phones: the scenario's `arrivals.signed_in` share open the
app with a session saved before the run (`--sessions`, written by `banksim seed
--sessions-out`) and renew it with its refresh token, no password; the others sign in
with the password first (a slow hash on the bank's side: a fleet of them at once is a
login storm). Every phone keeps its session across journeys, renews its access token
before it expires, and after a 401 (see journeys.sign_in).

n = (k mod --seeded-users) + 1 where k is a run-wide counter of spawned users (kept by
the master when distributed), so users spread over all seeded customers before any two
share one; with more users than seeded customers, several phones share a customer. k
also seeds the phone's random streams (platform, version, device id, request ids,
choices), so the same seed replays the same requests.

Every journey is one Locust request of type JOURNEY named "<journey> <app version>",
and one event in --journeys-out; each attempt of each step is an ordinary request
grouped by `name=`. With the web UI, tabs show journey success per app version, live
(loadtests/phone/webui.py).
"""
import json
import logging
import secrets
from random import Random

from locust import events
from locust.contrib.fasthttp import FastHttpUser

from loadtests.phone import journeys, webui
from loadtests.phone.coordinator import RunCoordinator
from loadtests.phone.journal import journey_event
from loadtests.phone.mobile import Device, Journey, MobileClient, StepFailed
from loadtests.phone.transport import PhoneTransport
from loadtests.phone.retry import POLICIES, ClientPolicy, policy_of
from loadtests.scenario import NONE, ScenarioError, builtin_names, load
from loadtests.phone.versions import choose_baseline_version, choose_platform

from banksim.environment import ADMIN_TOKEN, DEFAULT_SEED, DEFAULT_USERS, SEED, USERS

log = logging.getLogger(__name__)
coordinator: RunCoordinator | None = None
client_policy: ClientPolicy | None = None  # the scenario's `client`, with --client-timeout
saved_sessions: list[dict] = []  # from --sessions: entry k is user{k+1}'s


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--scenario", dest="scenario", default=NONE,
                       metavar="NAME|PATH",
                       help=f"incident scenario: a built-in ({', '.join(builtin_names())}) or "
                            "a YAML file; `none` (default): no timeline, one baseline phase")
    parser.add_argument("--client-policy", "--client", dest="client_policy",
                       choices=sorted(POLICIES), default=None,
                       help="the app's client policy (default: the scenario's): none, naive "
                            "(3 immediate retries), backoff (4 retries, capped exponential "
                            "backoff, full jitter), budgeted (naive within a retry budget), "
                            "breaker (naive behind a circuit breaker)")
    parser.add_argument("--load-model", choices=("closed", "open"), default=None,
                       help="closed: each phone thinks between journeys; open: journeys "
                            "start at --rate a second on free phones (-u is the phones), "
                            "arrivals finding none are dropped (default: the scenario's)")
    parser.add_argument("--rate", type=float, default=None,
                       help="the open model's journeys a second, over all workers (implies "
                            "--load-model open; default: the scenario's)")
    parser.add_argument("--seeded-users", type=int, env_var=USERS,
                        default=DEFAULT_USERS,
                       help="how many user{n}@example.com customers `banksim seed` created")
    parser.add_argument("--customer-password", default=journeys.PASSWORD,
                       help="password of the seeded customers")
    parser.add_argument("--seed", type=int, env_var=SEED,
                        default=DEFAULT_SEED,
                       help="seed of every simulated phone's random streams")
    parser.add_argument("--adoption", type=float, default=None,
                       help="chance that an app open installs a newer release (default: "
                            "each release's adoption in the scenario)")
    parser.add_argument("--client-timeout", type=float, default=None,
                       help="connect and read timeout of each request, seconds (default: the "
                            "client policy's, 5 for the built-ins)")
    parser.add_argument("--think-min", type=float, default=None,
                       help="shortest pause between journeys, seconds (default: the scenario's)")
    parser.add_argument("--think-max", type=float, default=None,
                       help="longest pause between journeys, seconds (default: the scenario's)")
    parser.add_argument("--scenario-duration", type=float, default=0,
                       help="seconds the timeline spans (default: --run-time)")
    parser.add_argument("--admin-token", env_var=ADMIN_TOKEN, default="",
                       is_secret=True, help="bearer token for /admin (the timeline needs it); "
                                            "prefer the environment variable, since `ps` "
                                            "shows a command line to every local user")
    parser.add_argument("--sessions", default="", metavar="PATH",
                       help="saved sessions of the seeded customers (`banksim seed "
                            "--sessions-out`): the scenario's signed_in share of phones "
                            "open the app with one and refresh it; without it every phone "
                            "signs in with its password")
    parser.add_argument("--journeys-out", default="", help="JSON Lines file of journey events")
    parser.add_argument("--transfers-out", default="",
                       help="JSON Lines file of money-transfer intents")
    parser.add_argument("--phases-out", default="", help="JSON file of the run's phases")
    parser.add_argument("--load-out", default="",
                       help="JSON file of the load model and its arrivals per second")
    parser.add_argument("--steps-out", default="",
                       help="JSON file of what each timeline step did (and halted_at_s)")
    parser.add_argument("--run-tag", default="",
                       help="tag in idempotency keys and transfer references (default: random "
                            "per process, so reruns against one database never replay)")


@events.init.add_listener
def on_init(environment, **_kw):
    global coordinator
    options = environment.parsed_options
    if options is None or environment.runner is None:
        return
    scenario = _scenario(options)
    if options.scenario != NONE and not getattr(options, "worker", False):
        if not options.admin_token:
            raise SystemExit("--scenario needs --admin-token or BANKSIM_ADMIN_TOKEN")
    if options.seeded_users < 2:
        raise SystemExit("--seeded-users must be at least 2 (send_money needs a payee)")
    options.think_min, options.think_max = scenario.think_s
    options.client_policy = scenario.client_policy
    global client_policy
    try:  # kept here, not on the options: a master sends its options to its workers
        client_policy = policy_of(scenario.client, options.client_timeout)
    except ValueError as exc:
        raise SystemExit(f"--client-policy: {exc}") from None
    if options.rate is not None and not options.rate > 0:
        raise SystemExit("--rate must be above 0")
    if not 0 < options.think_min <= options.think_max:
        raise SystemExit("need 0 < --think-min <= --think-max")
    options.run_tag = options.run_tag or secrets.token_hex(3)
    saved_sessions[:] = _saved_sessions(options.sessions)
    coordinator = RunCoordinator(environment, scenario)
    if environment.web_ui:
        webui.add_journey_tabs(environment)


def _saved_sessions(path: str) -> list[dict]:
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)["sessions"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"--sessions {path}: not a sessions file of `banksim seed` "
                         f"({exc})") from None


def _scenario(options):
    """The scenario with the command line's values over the file's; exits on a bad one."""
    think = None
    if options.think_min is not None or options.think_max is not None:
        think = (options.think_min if options.think_min is not None else options.think_max,
                 options.think_max if options.think_max is not None else options.think_min)
    duration = options.scenario_duration or options.run_time or None
    try:
        return load(options.scenario, {"adoption": options.adoption, "think": think,
                                       "client_policy": options.client_policy,
                                       "duration": duration, "load_model": options.load_model,
                                       "rate": options.rate})
    except ScenarioError as exc:
        raise SystemExit(f"--scenario: {exc}") from None


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    coordinator.test_start()


@events.test_stopping.add_listener
def on_test_stopping(environment, **_kw):
    coordinator.test_stopping()


@events.test_stop.add_listener
def on_test_stop(environment, **_kw):
    coordinator.test_stop()


def _picked(kind: journeys.JourneyKind):
    """Locust's task for one journey of the registry (in the open model, it starts when an
    arrival picks the phone)."""
    def run(user: "MobileCustomer") -> None:
        arrived_at = None
        if coordinator.open_model:
            arrived_at = coordinator.wait_for_arrival()
            if arrived_at is None:
                return  # the run is stopping: no journey
        user.journey(kind.name, kind.steps, arrived_at)
    run.__name__ = kind.name
    return run


def _failure(journey: Journey) -> str | None:
    """How a failed journey failed (journal.FAILURES); None when it succeeded."""
    if journey.ok:
        return None
    return journey.failure.outcome if journey.failure is not None else "bug"


class MobileCustomer(FastHttpUser):
    """A customer using the bank's app: opens it, looks around, moves money.

    On FastHttpUser for its CPU per phone; `PhoneTransport` keeps requests' behaviour (one
    keep-alive connection, --client-timeout to connect and per read, no hidden resends).
    """

    tasks = {_picked(kind): kind.weight for kind in journeys.JOURNEYS}

    def __init__(self, environment):
        super().__init__(environment)
        self.client = PhoneTransport(self, client_policy.timeout_s)

    def wait_time(self):
        if coordinator.open_model:  # the phone waits for an arrival instead (see _picked)
            return 0
        options = self.environment.parsed_options
        return self.rng.uniform(options.think_min, options.think_max)

    def on_start(self):
        options, scenario = self.environment.parsed_options, coordinator.scenario
        k = coordinator.claim_user_number()
        self.rng = Random(f"{options.seed}:{k}:behaviour")
        id_rng = Random(f"{options.seed}:{k}:ids")
        device = Device(number=k % options.seeded_users + 1,
                        platform=choose_platform(self.rng, scenario.platforms),
                        app_version=choose_baseline_version(self.rng, scenario.population),
                        device_id=f"dev_{id_rng.getrandbits(64):016x}")
        on_wifi = Random(f"{options.seed}:{k}:network").random() < scenario.wifi_share(
            device.platform)
        device.network = "wifi" if on_wifi else "cellular"
        client = MobileClient(self.client, device, client_policy,
                              id_rng=id_rng, jitter_rng=Random(f"{options.seed}:{k}:jitter"))
        self.app = journeys.MobileApp(client, self.rng, seeded_users=options.seeded_users,
                                      adoption=scenario.adoption_of, run_tag=options.run_tag,
                                      password=options.customer_password,
                                      record_transfer=coordinator.record_transfer)
        session = self._saved_session(k, Random(f"{options.seed}:{k}:session"))
        if coordinator.open_model:  # the first journey waits for an arrival like any other
            if session:
                self.app.refresh_token = session["refresh_token"]
            return
        if session:  # signed in before the run: the first act is opening the app
            self.app.refresh_token = session["refresh_token"]
            self.journey(journeys.APP_OPEN.name, journeys.APP_OPEN.steps)
        else:
            self.journey(journeys.LOGIN.name, journeys.LOGIN.steps)

    def _saved_session(self, k: int, rng: Random) -> dict | None:
        """Phone k's saved session, if the scenario's signed_in share says it has one and
        --sessions holds one for its customer (only the first phone of a customer: a
        refresh token is single use, two phones cannot share it)."""
        if rng.random() >= coordinator.scenario.signed_in or k >= len(saved_sessions):
            return None
        session = saved_sessions[k]
        return session if session.get("email") == self.app.device.email else None

    def journey(self, name: str, steps, arrived_at: float | None = None) -> None:
        """Run one journey (signing in first if the app has no session) and record it; its
        `t_s` is its arrival's in the open model (the same second the tally counts)."""
        t_s, phase = coordinator.seconds_since_start(), coordinator.phase
        if arrived_at is not None:
            t_s = min(t_s, arrived_at)

        def done(journey: Journey):
            self.environment.events.request.fire(
                request_type="JOURNEY", name=f"{name} {journey.app_version}",
                response_time=journey.duration_ms, response_length=0, context={},
                exception=None if journey.ok else StepFailed(journey.error))
            coordinator.record_journey(journey_event(
                t_s=t_s, user=self.app.device.email, journey=name,
                app_version=journey.app_version, platform=journey.platform, phase=phase,
                ok=journey.ok, duration_ms=journey.duration_ms, retries=journey.retries,
                requests=journey.requests, error=journey.error,
                network=self.app.device.network, failure=_failure(journey),
                wait_s=journey.wait_s, fast_failed=journey.fast_failed,
                budget_denied=journey.budget_denied, breaker_opened=journey.breaker_opened))

        try:
            with Journey(name, self.app.client, done) as journey:
                if name != journeys.LOGIN.name:
                    journeys.sign_in(self.app)
                steps(self.app)
        finally:
            self.app.install_pending_update()
        if journey.failure is not None:
            self.app.forget_session_on_401(journey.failure)
