"""Serving the sandbox (tests, CLI) and driving it over HTTP (:class:`SandboxControl`)."""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from facebook.sandbox.app import SandboxApp, create_sandbox_app

logger = logging.getLogger(__name__)

DEMO_PAGE_ID = "104500000000001"
DEMO_AD_ACCOUNT_ID = "act_2026000000001"
DEMO_PAGE_TOKEN = "sandbox-page-token-valrive"
DEMO_ADS_TOKEN = "sandbox-ads-token-valrive"
DEMO_USER_TOKEN = "sandbox-user-token-admin"


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr for every request (the sandbox counts requests itself)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s %s", self.command, self.path, code)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_loopback(host: str) -> None:
    if not is_loopback(host):
        raise ValueError(f"The Graph API sandbox only listens on loopback, not on {host!r}")


class SandboxServer:
    """The sandbox served on ``127.0.0.1`` and a free port, in a background thread.

    Use as a context manager; ``url`` is the Graph base URL to give a ``Connection``.
    """

    def __init__(
        self,
        app: SandboxApp | None = None,
        *,
        state_path: str | None = None,
        seed: int = 1,
        realtime: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        _require_loopback(host)
        self.app = app or create_sandbox_app(state_path, seed=seed, realtime=realtime)
        self._server = make_server(host, 0, self.app, threaded=True, request_handler=_QuietHandler)
        self.port = int(self._server.server_port)
        self.url = f"http://{host}:{self.port}"
        self.control = SandboxControl(self.url)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="graph-sandbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.control.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8765,
    state_path: str | None = None,
    *,
    seed: int = 1,
    realtime: bool = True,
    setup: dict[str, Any] | None = None,
) -> None:
    """Serve the sandbox until interrupted (the ``flask sandbox run`` command). Loopback only.

    ``setup`` (e.g. :func:`default_demo_setup`) is provisioned first; it is idempotent.
    """
    _require_loopback(host)
    app = create_sandbox_app(state_path, seed=seed, realtime=realtime)
    if setup:
        with app.state.lock:
            app.state.setup(setup)
            app.state.save(force=True)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    logger.info(
        "Graph API sandbox on http://%s:%s (state: %s)", host, server.server_port, state_path or "memory"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        with app.state.lock:
            app.state.save(force=True)


class SandboxControlError(RuntimeError):
    """The sandbox refused a control request."""


class SandboxControl:
    """A tiny client for the sandbox's ``/_sandbox/`` control API (CLI, tests, demo seeding)."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self._http.request(
            method, f"{self.base_url}/_sandbox/{path}", json=payload, timeout=self.timeout
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise SandboxControlError(f"{method} {path}: HTTP {response.status_code}, not JSON") from exc
        if response.status_code >= 400:
            message = body.get("error", {}).get("message") if isinstance(body, dict) else body
            raise SandboxControlError(f"{method} {path}: {message}")
        return body

    def setup(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Provision Pages, ad accounts and users (idempotent)."""
        return self._call("POST", "setup", payload)

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> str:
        """Move the sandbox clock forward; returns the new clock (ISO 8601)."""
        body = self._call(
            "POST", "clock", {"advance_days": days, "advance_hours": hours, "advance_seconds": seconds}
        )
        return str(body["clock"])

    def clock(self) -> str:
        return str(self._call("GET", "clock")["clock"])

    def add_fault(self, kind: str, **spec: Any) -> dict[str, Any]:
        """Inject a fault (see ``facebook/sandbox/faults.py`` for the spec)."""
        return self._call("POST", "faults", {"kind": kind, **spec})

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults")["faults"])

    def clear_faults(self) -> int:
        return int(self._call("DELETE", "faults")["cleared"])

    def state(self, *, objects: bool = True) -> dict[str, Any]:
        return self._call("GET", "state" + ("" if objects else "?objects=0"))

    def requests(self) -> dict[str, Any]:
        """Request counters: ``graph_requests``, ``batch_requests``, ``batch_ops``, ``by_endpoint``."""
        return self._call("GET", "requests")

    def reset_requests(self) -> None:
        self._call("DELETE", "requests")

    def seed_boosts(self, **payload: Any) -> dict[str, Any]:
        """Create many boosted posts at once (see ``seed_boosts`` in ``app.py``)."""
        return self._call("POST", "seed", payload)

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "reset", {})


def default_demo_setup() -> dict[str, Any]:
    """Provisioning for the demo territory: the Page "Ville de Valrive" and its EUR ad account."""
    return {
        "pages": [
            {
                "id": DEMO_PAGE_ID,
                "name": "Ville de Valrive",
                "followers": 25_000,
                "page_token": DEMO_PAGE_TOKEN,
                "category": "Government organization",
            }
        ],
        "ad_accounts": [
            {
                "id": DEMO_AD_ACCOUNT_ID,
                "name": "Valrive — communication",
                "currency": "EUR",
                "access_token": DEMO_ADS_TOKEN,
                "pages": [DEMO_PAGE_ID],
            }
        ],
        "users": [
            {
                "token": DEMO_USER_TOKEN,
                "name": "Administrateur Valrive",
                "pages": [DEMO_PAGE_ID],
                "ad_accounts": [DEMO_AD_ACCOUNT_ID],
            }
        ],
    }


def demo_connection(base_url: str) -> Any:
    """A ``facebook.Connection`` to the demo territory on a sandbox at ``base_url``."""
    from facebook.client import Connection

    return Connection(
        base_url=base_url,
        page_id=DEMO_PAGE_ID,
        ad_account_id=DEMO_AD_ACCOUNT_ID,
        access_token=DEMO_ADS_TOKEN,
        page_token=DEMO_PAGE_TOKEN,
        is_sandbox=True,
    )
