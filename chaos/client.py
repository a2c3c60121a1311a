"""The admin API's one client: `banksim chaos`, `banksim release` and a run's timeline all
call the server through it, and each failure comes back as one `AdminError` whose message
says what to change — the URL, the token, or the request."""
import re
from urllib.parse import urlsplit

import click
import requests


class AdminError(click.ClickException):
    """An admin call that failed: `status` is None when nothing answered; `code` is the
    error envelope's code when the server was banksim. A command that lets it through
    prints its message and exits 1, like any click error."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class AdminClient:
    """Calls `<url><prefix><path>` with the admin bearer token. `url_from` and `token_from`
    name where the user set each, so an error can tell them what to change."""

    def __init__(self, url: str, token: str, prefix: str = "", timeout_s: float = 10.0,
                 url_from: str = "BANKSIM_URL", token_from: str = "BANKSIM_ADMIN_TOKEN"):
        self.url, self.token, self.prefix = url.rstrip("/"), token, prefix
        self.timeout_s, self.url_from, self.token_from = timeout_s, url_from, token_from
        self.http = requests.Session()  # one keep-alive connection for every call
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: dict | None = None) -> dict:
        return self.call(method, path, json=body)

    def call(self, method: str, path: str, **kwargs) -> dict:
        """The answer's JSON ({} for no body); AdminError for anything else."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdminError(f"{self.url!r} ({self.url_from}) is not a server's URL: give it "
                             "with its scheme, e.g. http://127.0.0.1:8000")
        try:
            response = self.http.request(method, f"{self.url}{self.prefix}{path}",
                                            timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise AdminError(f"cannot reach banksim at {self.url}: {self._reason(exc)}") from None
        body = _json(response)
        if body is None:
            raise AdminError(f"{self.url} answered {response.status_code} with "
                             f"{_what(response)}, not banksim's JSON: is {self.url_from} the "
                             "address of a banksim server?", response.status_code)
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            code = error.get("code") if isinstance(error, dict) else None
            message = (error.get("message") if isinstance(error, dict) else None) or response.reason
            raise AdminError(f"{response.status_code} {code or 'error'}: {message}"
                             f"{self._hint(response.status_code)}", response.status_code, code)
        return body

    def _hint(self, status: int) -> str:
        if status != 401:
            return ""
        given = (f"the admin token from {self.token_from} is not" if self.token
                 else f"no admin token given: set {self.token_from} to")
        return (f" ({given} the one the server was started with; `banksim serve` prints it "
                "when it chose one)")

    def _reason(self, exc: requests.RequestException) -> str:
        """Why the request failed, in words (requests' exception class names say little)."""
        if isinstance(exc, requests.ConnectionError):
            return "nothing answered there (is `banksim serve` running, on that port?)"
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout_s:g} s"
        return type(exc).__name__


def _json(response):
    """The answer's JSON ({} for no body); None when it is something else (an HTML page
    from a server that is not banksim)."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return None


def _what(response) -> str:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no type"
    title = re.search(r"<title>(.*?)</title>", response.text[:4000], re.I | re.S)
    return f"a {kind} page" + (f" titled {title.group(1).strip()[:80]!r}" if title else "")
