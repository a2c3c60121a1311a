"""A tiny client for the bank's admin API, used by the release timeline."""
import requests


class AdminClient:
    """Calls /admin/... with the admin bearer token; raises on anything but 2xx."""

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
            raise RuntimeError(f"{response.status_code} {response.text[:200]}")
        return response.json() if response.content else {}
