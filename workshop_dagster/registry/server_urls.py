"""Where a model server is: its URL checked (settings, variants), shown without the credentials
it may carry, and told local (this machine or a private network: its calls cost nothing by
default) or not. Pure: no client, no network."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Ollama's OpenAI-compatible endpoint, where a local model most often is.
DEFAULT_BASE_URL = "http://localhost:11434/v1"


def server_host(base_url: str) -> str:
    """The server's host and port, without any user or password the URL carries."""
    parts = urlsplit(base_url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""


def public_url(base_url: str) -> str:
    """The URL as it may be shown (in an error, a log): without a user or password in it."""
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def is_local(base_url: str) -> bool:
    """A server on this machine or a private network (its calls cost nothing by default)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def url_problem(text: str) -> str | None:
    """Why `text` is not the http(s) URL of a server (None: it is one)."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if ok and "@" in parts.netloc:
        # The resource's config (this URL) is stored with every run: no secret may ride in it.
        return (
            "carries a user or password: give the address alone and the key in OPENAI_API_KEY "
            "(sent as a bearer token; a URL is stored with each run's configuration)"
        )
    if ok:
        return None
    return (
        f"{text!r} is not a URL: give the server's http(s):// address, e.g. "
        "http://localhost:11434/v1"
    )
