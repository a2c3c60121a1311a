"""Opaque, prefixed identifiers (`acc_...`, `tx_...`): readable in logs, unguessable."""
import secrets


def new_id(prefix: str) -> str:
    """Return `prefix_` followed by 16 random base32-ish characters."""
    return f"{prefix}_{secrets.token_hex(8)}"
