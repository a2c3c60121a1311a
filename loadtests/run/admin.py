"""A tiny client for the bank's admin API, used by the release timeline."""
import requests


class AdminError(RuntimeError):
    """The bank answered an admin call with something other than 2xx."""

    def __init__(self, status: int, code: str | None, text: str):
        if code is None and text.lstrip()[:1] == "<":  # another server's page, not ours
            text = "an HTML page, not banksim's JSON: is the host a banksim server?"
        elif status == 401:
            text += (" (the admin token, --admin-token or BANKSIM_ADMIN_TOKEN, is not the one "
                     "the bank was started with)")
        super().__init__(f"{status} {text[:400]}")
        self.status, self.code = status, code


class AdminClient:
    """Calls /admin/... with the admin bearer token; raises AdminError on anything but 2xx."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0):
        if not token:
            raise ValueError("the timeline needs the admin token (--admin-token or "
                             "BANKSIM_ADMIN_TOKEN)")
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.session.request(method, self.base_url + path, json=body,
                                        timeout=self.timeout_s)
        if not response.ok:
            raise AdminError(response.status_code, _code(response), _said(response))
        return response.json() if response.content else {}


def _said(response) -> str:
    """The error envelope as one line ("not_found: preset nope not found"), else the body."""
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return response.text


def _code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
