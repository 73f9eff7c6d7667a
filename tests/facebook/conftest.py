"""Fixtures for the Facebook layer: a Graph API sandbox on a free loopback port and clients to it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from facebook import Connection, FacebookClient, RetryPolicy, throttle_registry
from facebook.sandbox import SandboxControl, SandboxServer, default_demo_setup, demo_connection, is_loopback

TARGETING_FR = {
    "geo_locations": {"countries": ["FR"]},
    "age_min": 25,
    "age_max": 55,
    "targeting_automation": {"advantage_audience": 0},
}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP request made during a test must stay on this machine."""
    real_send = requests.adapters.HTTPAdapter.send

    def send(
        self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ):
        host = urlsplit(request.url or "").hostname or ""
        assert is_loopback(host), f"a test tried to reach {host}"
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


@pytest.fixture(autouse=True)
def fresh_throttle_registry() -> Iterator[None]:
    """The throttle registry is process-wide: start and end every test with it empty."""
    throttle_registry.clear()
    yield
    throttle_registry.clear()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox (in memory, fixed seed) provisioned with the demo territory."""
    with SandboxServer(seed=7) as server:
        server.control.setup(default_demo_setup())
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> SandboxControl:
    return sandbox.control


class Sleeps(list[float]):
    """A ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sandbox: SandboxServer, sleeps: Sleeps) -> Callable[..., FacebookClient]:
    """Build a client to the sandbox; keyword arguments override the demo connection's fields."""

    def make(*, policy: RetryPolicy | None = None, **overrides: Any) -> FacebookClient:
        connection: Connection = replace(demo_connection(sandbox.url), **overrides)
        return FacebookClient(
            connection,
            policy
            or RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=30, sleep=sleeps, poll_interval=0),
        )

    return make


@pytest.fixture
def fb_client(make_client: Callable[..., FacebookClient]) -> FacebookClient:
    """The demo territory's client, with instant retries."""
    return make_client()


def sandbox_now(control: SandboxControl) -> datetime:
    return datetime.fromisoformat(control.clock().replace("+0000", "+00:00"))


class SandboxClock:
    """Reads the sandbox's clock and request counter (tests assert on both)."""

    def __init__(self, control: SandboxControl) -> None:
        self.control = control

    def now(self) -> datetime:
        return sandbox_now(self.control)

    def today(self) -> date:
        return self.now().date()

    def requests(self) -> int:
        return int(self.control.requests()["graph_requests"])


@pytest.fixture
def sandbox_clock(control: SandboxControl) -> SandboxClock:
    return SandboxClock(control)


@dataclass(frozen=True)
class Boost:
    post_id: str
    campaign_id: str
    adset_id: str
    creative_id: str
    ad_id: str


_boost_numbers = itertools.count(1)


@pytest.fixture
def boost(fb_client: FacebookClient, control: SandboxControl) -> Callable[..., Boost]:
    """Factory: publish a post and boost it (campaign, ad set, creative, ad), named like Rayonne does."""

    def make(
        message: str = "Cet été, découvrez les plages de Valrive",
        *,
        link: str | None = "https://valrive.example/ete",
        daily_budget_minor: int | None = 1000,
        lifetime_budget_minor: int | None = None,
        spend_cap_minor: int = 100_000,
        days: float = 30,
        targeting: dict[str, Any] | None = None,
        activate: bool = True,
    ) -> Boost:
        n = next(_boost_numbers)
        now = sandbox_now(control)
        post_id = fb_client.publish_post(message=message, link=link)
        campaign_id = fb_client.create_campaign(
            name=f"rayonne:boost:{n}:campaign",
            objective="OUTCOME_AWARENESS",
            special_ad_categories=[],
            spend_cap_minor=spend_cap_minor,
        )
        adset_id = fb_client.create_adset(
            name=f"rayonne:boost:{n}:adset",
            campaign_id=campaign_id,
            daily_budget_minor=None if lifetime_budget_minor else daily_budget_minor,
            lifetime_budget_minor=lifetime_budget_minor,
            start_time=now,
            end_time=now + timedelta(days=days),
            optimization_goal="REACH",
            targeting=targeting or TARGETING_FR,
            dsa_beneficiary="Ville de Valrive",
            dsa_payor="Ville de Valrive",
        )
        creative_id = fb_client.create_creative(name=f"rayonne:boost:{n}:adcreative", object_story_id=post_id)
        ad_id = fb_client.create_ad(name=f"rayonne:boost:{n}:ad", adset_id=adset_id, creative_id=creative_id)
        if activate:
            for object_id in (campaign_id, adset_id, ad_id):
                fb_client.set_status(object_id, "ACTIVE")
        return Boost(post_id, campaign_id, adset_id, creative_id, ad_id)

    return make
