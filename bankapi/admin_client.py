"""A small HTTP client for the admin API, used by the CLI (`banksim release ...`)."""
import os

import click
import requests


def admin_request(method: str, path: str, url: str | None = None, token: str | None = None,
                  **kwargs) -> dict:
    """Call the admin API; raise a ClickException carrying the server's message on failure."""
    base = (url or os.environ.get("BANKSIM_URL", "http://127.0.0.1:8000")).rstrip("/")
    token = token or os.environ.get("BANKSIM_ADMIN_TOKEN", "")
    try:
        response = requests.request(method, base + path, timeout=10,
                                    headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach banksim at {base}: {exc}") from None
    body = response.json() if response.content else {}
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise click.ClickException(f"{response.status_code} {error.get('code', '')}: "
                                   f"{error.get('message', response.text[:200])}")
    return body
