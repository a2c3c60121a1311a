"""What apiflask leaves out of `/openapi.json`, added by its spec processor, so the
document says everything the API does: a client or a contract test generated from it meets
no status, rule or header it did not describe (tests/reliability/test_fuzz_api.py runs
schemathesis with every check against a served bank to hold that).

Each addition comes from the code that enforces it: the error statuses from the checks
every request passes (inputs.py, errors.py, the bearer checks), the Idempotency-Key header
from the views that need it, the NUL rule from inputs.py, exactly-one-of from the schema
whose validator applies it.
"""
import re

from apiflask import Schema

from chaos.middleware import covers

from .. import ALWAYS_ANSWERED
from . import schemas
from .inputs import STORABLE_TEXT

ERROR_REF = {"$ref": "#/components/schemas/HTTPError"}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "schema": {"type": "string"}}}
# The answers the whole app gives, whichever view runs (errors.py, inputs.py, the bearer
# checks), each with the error envelope. An operation documents those that apply to it.
COMMON_ERRORS = {
    400: "bad input, the field named: a parameter or body field that fails its rule, "
         "malformed or too deeply nested JSON, text with NUL or an unpaired surrogate",
    401: "no valid bearer token for this operation",
    408: "the request did not arrive whole within 10 s (the server's read deadline)",
    413: "the body is larger than the server takes (64 KiB by default)",
    414: "the request line is longer than the server reads (4094 bytes)",
    415: "a body that is not JSON (Content-Type: application/json)",
    431: "the headers are larger than the server reads",
    503: "the database is unavailable; nothing was written, retry (Retry-After)",
}
SERVER_BOUNDS = (408, 413, 414, 431)  # the server's own refusals, before any view (worker.py)
# What a chaos rule's error fault may answer on any path chaos touches (all but
# ALWAYS_ANSWERED): the banksim runs a team rehearses are exactly when a client meets these.
INJECTED = {status: f"injected by a chaos rule (an error fault with status {status})"
            for status in (429, 500, 502, 503, 504)}
# The header a caller may ask for faults with (chaos/header_faults.py): on every path chaos
# touches, applied only while an admin allows the caller, else ignored (never refused).
FAULT_HEADER = {
    "in": "header", "name": "X-Banksim-Fault", "required": False,
    "description": "faults this request asks for, e.g. `latency=800ms` or `latency=1s; error=503`"
                   " (docs/reference.md, Caller-chosen faults): applied only while "
                   "PUT /admin/chaos/settings allows the caller's X-Device-Id or user, "
                   "answered then as the fault makes it (X-Chaos-Rule: header); otherwise "
                   "ignored, never refused",
    "schema": {"type": "string"}, "example": "latency=800ms"}
WITH_BODY = {"post", "put", "patch"}
ADMIN_PREFIX = "/admin/"  # admin.py's and the chaos admin API's bearer check
ADMIN_SCHEME = "AdminToken"


def without_database(view):
    """Mark a view that never reads the database: /openapi.json then lists no 503 for it."""
    view.without_database = True
    return view


def marked_operations(app, mark: str) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route whose view carries the attribute `mark`."""
    return {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
            for rule in app.url_map.iter_rules()
            if getattr(app.view_functions[rule.endpoint], mark, False)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def complete_spec(spec: dict, idempotent: set[tuple[str, str]],
                  no_database: set[tuple[str, str]] = frozenset()) -> dict:
    """What apiflask leaves out of /openapi.json, so the document says all the API does:
    bodies are required, and so is Idempotency-Key on the `idempotent` (path, method)
    operations (the views made `idempotent`); every error status each operation can
    answer (`document_errors`) and, where chaos acts, X-Banksim-Fault; the admin token on
    /admin; what inputs.py refuses in every string; each schema's EXACTLY_ONE_OF and
    AT_LEAST_ONE_OF; the chaos schemas' rules (chaos.schemas.document_faults)."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            if (path, method) in idempotent:
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": "Idempotency-Key", "required": True,
                    "description": "one per intended operation; reuse it on every retry",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
            if path.startswith(ADMIN_PREFIX):
                operation["security"] = [{ADMIN_SCHEME: []}]
            faultable = not covers(ALWAYS_ANSWERED, path)
            document_errors(operation, method, (path, method) not in no_database,
                            faultable=faultable)
            if faultable:
                operation.setdefault("parameters", []).append(dict(FAULT_HEADER))
    spec.setdefault("components", {}).setdefault("securitySchemes", {})[ADMIN_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "the server's BANKSIM_ADMIN_TOKEN, for every /admin operation"}
    _one_of(spec)
    from chaos.schemas import document_faults

    from ..presets import MATCH_HEADERS
    spec = document_faults(spec, MATCH_HEADERS)
    _storable_strings(spec)
    return spec


def document_errors(operation: dict, method: str, uses_database: bool,
                    faultable: bool = True) -> None:
    """Add the COMMON_ERRORS that apply to an operation to those its view declares: any
    request may carry a bad query or path value (400) or break the server's bounds (408,
    413, 414, 431); a request with a body may not be JSON (415); a secured one may lack
    its token (401); whatever reads the database may find it unavailable (503); and a
    `faultable` one may get what a chaos rule injects (INJECTED)."""
    statuses = [400, *SERVER_BOUNDS]
    if method in WITH_BODY:
        statuses.append(415)
    if operation.get("security"):
        statuses.append(401)
    if uses_database:
        statuses.append(503)
    responses = operation.setdefault("responses", {})
    described = {**(INJECTED if faultable else {}), **{s: COMMON_ERRORS[s] for s in statuses}}
    for status, description in sorted(described.items()):
        responses.setdefault(str(status), {"description": description,
                                           "content": {"application/json": {
                                               "schema": ERROR_REF}}})
    for status in ("429", "503"):
        if status in responses:
            responses[status].setdefault("headers", RETRY_AFTER)
    operation["responses"] = dict(sorted(responses.items()))


def _one_of(spec: dict) -> None:
    """A schema's EXACTLY_ONE_OF or AT_LEAST_ONE_OF (its validator refuses the body
    otherwise) as JSON Schema: a `oneOf` or `anyOf` branch requiring each field."""
    components = spec.get("components", {}).get("schemas", {})
    for name, schema in vars(schemas).items():
        if name not in components or not (isinstance(schema, type)
                                          and issubclass(schema, Schema)):
            continue
        for rule, keyword in (("EXACTLY_ONE_OF", "oneOf"), ("AT_LEAST_ONE_OF", "anyOf")):
            if hasattr(schema, rule):
                components[name][keyword] = [{"required": [field]}
                                             for field in getattr(schema, rule)]


def _storable_strings(spec: dict) -> None:
    """inputs.py refuses NUL in every string a request carries (parameters, body values):
    each such string's schema says so with a `pattern` (unless its enum, format or own
    whole-value pattern, none of which allows NUL, already excludes it)."""
    components = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def walk(schema):
        if isinstance(schema, list):
            for item in schema:
                walk(item)
            return
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk(components.get(name))
            return
        types = schema.get("type")
        if (types == "string" or isinstance(types, list) and "string" in types) and not (
                {"enum", "format", "const"} & set(schema)):
            pattern = schema.get("pattern")
            if pattern is None:
                schema["pattern"] = STORABLE_TEXT
            elif not (pattern.startswith("^") and pattern.endswith("$")):  # only a prefix
                schema.setdefault("allOf", []).append({"pattern": STORABLE_TEXT})
        for key in ("properties", "patternProperties"):
            walk(list(schema.get(key, {}).values()))
        for key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf"):
            walk(schema.get(key))

    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                walk(media.get("schema"))
