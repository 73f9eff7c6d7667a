"""The client's construction: its own SDK instances, no secrets in reprs or errors, no Flask."""

from __future__ import annotations

import socket
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from facebook_business.api import FacebookAdsApi

from facebook import GRAPH_API_VERSION, AuthError, Connection, FacebookClient, RetryPolicy, TransientError

ROOT = Path(__file__).resolve().parents[2]


def test_connection_and_client_reprs_hide_secrets():
    """Neither a Connection's nor a client's repr shows tokens or the app secret."""
    connection = Connection(
        base_url="http://127.0.0.1:1",
        page_id="1",
        ad_account_id="act_2",
        access_token="ADS-SECRET",
        page_token="PAGE-SECRET",
        app_id="3",
        app_secret="APP-SECRET",
    )
    for text in (repr(connection), repr(FacebookClient(connection))):
        assert "SECRET" not in text and "act_2" in text


def test_each_client_has_its_own_sdk_instances(sandbox):
    """Clients never use the SDK's global default API; each session points at its own base URL."""
    first = FacebookClient(Connection(sandbox.url, "1", "act_1", "a", "p"))
    second = FacebookClient(Connection("http://127.0.0.1:9", "1", "act_1", "b", "q"))
    assert FacebookAdsApi.get_default_api() is None
    assert first.ads_api is not second.ads_api and first.ads_api is not first.page_api
    assert first.ads_api._session.GRAPH == sandbox.url
    assert second.page_api._session.GRAPH == "http://127.0.0.1:9"
    assert first.ads_api._session.requests.trust_env is False
    assert first.ads_api._api_version == GRAPH_API_VERSION == "v26.0"


def test_errors_never_contain_tokens(make_client):
    """A refused token does not appear in the error raised, its message or user message."""
    with pytest.raises(AuthError) as caught:
        make_client(access_token="TOKEN-THAT-MUST-NOT-LEAK").account_info()
    for text in (
        str(caught.value),
        caught.value.user_message,
        repr(caught.value),
        str(caught.value.__cause__),
    ):
        assert "TOKEN-THAT-MUST-NOT-LEAK" not in text


def test_facebook_package_imports_no_flask_nor_other_rayonne_packages():
    """The integration layer stands alone: importing it loads no Flask and no other Rayonne package."""
    code = (
        "import sys, facebook, facebook.sandbox; "
        "names = ('flask', 'core', 'accounts', 'campaigns', 'sponsored', 'reports'); "
        "bad = [m for m in names if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_transport_errors_do_not_leak_tokens(sleeps):
    """A refused connection's error (and its traceback) shows no token: requests puts it in the URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = FacebookClient(
        Connection(f"http://127.0.0.1:{port}", "1", "act_1", "SECRET-ADS", "SECRET-PAGE", timeout=2),
        RetryPolicy(max_attempts=2, sleep=sleeps),
    )
    with pytest.raises(TransientError) as caught:
        client.page_info()
    text = "".join(traceback.format_exception(caught.value))
    assert "SECRET" not in text and "access_token=***" in text
