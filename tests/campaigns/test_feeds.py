"""Website import: the territory's RSS/Atom feed becomes draft stories, deduplicated, never published as is."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Role, Territory
from campaigns import feeds
from campaigns.models import Post, Story, StorySource
from core.db import ALL, session_scope
from core.errors import ValidationFailed
from tests.campaigns.builders import text_of
from tests.conftest import make_territory, make_user

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Valrive actualites</title><link>https://www.valrive.fr/</link>
<item><guid>https://www.valrive.fr/actu/1</guid><title>Inauguration de la T2</title>
<link>https://www.valrive.fr/actu/1</link>
<description>&lt;p&gt;Samedi &lt;b&gt;10 h&lt;/b&gt;, place de la Gare.&lt;/p&gt;</description></item>
<item><guid>https://www.valrive.fr/actu/2</guid><title>Nouveaux horaires des piscines</title>
<link>https://www.valrive.fr/actu/2</link><description>Ouverture jusqu'a 21 h.</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Valrive</title><id>urn:valrive</id><updated>2030-01-01T00:00:00Z</updated>
<entry><id>urn:valrive:3</id><title>Salon de l'immobilier d'entreprise</title><updated>2030-01-02T00:00:00Z</updated>
<link href="https://www.valrive.fr/actu/3"/><summary>12 hectares disponibles.</summary></entry>
</feed>"""


class FeedServer:
    """A feed site on a free loopback port: paths mapped to (content type, body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/moved":
                    self.send_response(301)
                    self.send_header("Location", "/rss.xml")
                    self.end_headers()
                    return
                kind, body = pages.get(self.path, ("text/plain", b""))
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> FeedServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.pages["/rss.xml"] = ("application/rss+xml", RSS)
        server.pages["/atom.xml"] = ("application/atom+xml", ATOM)
        server.pages["/page.html"] = ("text/html", b"<html><body>Bonjour</body></html>")
        yield server


def _setup(session, feed_url: str | None = None):  # noqa: ANN001, ANN202
    territory = make_territory(session, "valrive", "Valrive", website_feed_url=feed_url)
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    return territory


def test_import_button_creates_draft_stories_once(client, auth, session, site) -> None:  # noqa: ANN001
    """Each article becomes a website story with its text (HTML removed); importing again adds nothing."""
    _setup(session, site.url + "/rss.xml")
    auth.login("admin@valrive.test")
    first = auth.post("/t/valrive/campaigns/stories/import", follow_redirects=True)
    assert "2 article(s) importé(s)" in text_of(first)
    stories = session.exec(select(Story).order_by(Story.id)).all()
    assert [s.source for s in stories] == [StorySource.WEBSITE] * 2
    assert stories[0].title == "Inauguration de la T2" and stories[0].body == "Samedi 10 h , place de la Gare."
    assert stories[0].source_guid == "https://www.valrive.fr/actu/1" and stories[0].campaign_id is None
    again = auth.post("/t/valrive/campaigns/stories/import", follow_redirects=True)
    assert "0 article(s) importé(s) du site, 2 déjà connu(s)" in text_of(again)
    assert len(session.exec(select(Story)).all()) == 2
    assert session.exec(select(Post)).first() is None  # never published, nor even a post, by itself
    assert "Inauguration de la T2" in text_of(client.get("/t/valrive/campaigns/stories?source=website"))


def test_atom_feed_through_a_redirect(app, session, site) -> None:  # noqa: ANN001
    """An Atom feed is read too, and a redirect on the same public rules is followed."""
    territory = _setup(session, site.url + "/moved")
    with app.app_context(), session_scope(territory.id) as scoped_session:
        result = feeds.import_feed(session=scoped_session, territory=scoped_session.get(Territory, territory.id),
                                   actor=feeds.Actor.system(), allow_private=True)
    assert result.created == 2
    territory.website_feed_url = site.url + "/atom.xml"
    session.add(territory)
    session.commit()
    with app.app_context(), session_scope(territory.id) as scoped_session:
        feeds.import_feed(session=scoped_session, territory=scoped_session.get(Territory, territory.id),
                          actor=feeds.Actor.system(), allow_private=True)
    assert "Salon de l'immobilier d'entreprise" in [s.title for s in session.exec(select(Story))]


def test_daily_job_imports_every_territory_and_reports_failures(app, session, site) -> None:  # noqa: ANN001
    """The scheduled job reads each territory's feed; a page that is not a feed fails alone, logged."""
    _setup(session, site.url + "/rss.xml")
    make_territory(session, "autreville", website_feed_url=site.url + "/page.html")
    make_territory(session, "sansflux")
    with app.app_context(), session_scope(ALL) as job_session:
        summary = feeds.import_feeds_job(session=job_session)
    assert summary == "2 récit(s) importé(s) de 2 site(s), 1 en échec"
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "story.import")).one().actor_label == "system"


def test_feed_address_is_checked_and_errors_are_explained(client, auth, session, site) -> None:  # noqa: ANN001
    """A non-web address is refused beside the field; a page that is no feed, or a missing one, is explained."""
    _setup(session)
    auth.login("admin@valrive.test")
    bad = auth.post("/t/valrive/campaigns/stories/feed", {"website_feed_url": "ftp://valrive.fr/rss"})
    assert bad.status_code == 422 and "Adresse complète du flux attendue" in text_of(bad)
    no_feed = auth.post("/t/valrive/campaigns/stories/import", follow_redirects=True)
    assert "Aucun flux RSS/Atom du site" in text_of(no_feed)
    auth.post("/t/valrive/campaigns/stories/feed", {"website_feed_url": site.url + "/page.html"})
    not_a_feed = auth.post("/t/valrive/campaigns/stories/import", follow_redirects=True)
    assert "ne renvoie pas un flux RSS ou Atom lisible" in text_of(not_a_feed)
    auth.post("/t/valrive/campaigns/stories/feed", {"website_feed_url": site.url + "/missing.xml"})
    missing = auth.post("/t/valrive/campaigns/stories/import", follow_redirects=True)
    assert "Le site a répondu 404" in text_of(missing)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "territory.feed_url")
                         .order_by(AuditEvent.id.desc())).first()
    assert event.after["website_feed_url"].endswith("/missing.xml")


def test_private_addresses_are_refused_outside_development(app_ctx) -> None:  # noqa: ANN001
    """In production the server never fetches a feed on itself or a private network."""
    for url in ("http://127.0.0.1:8080/rss", "http://10.0.0.5/rss", "http://[::1]/rss", "http://localhost/rss"):
        with pytest.raises(ValidationFailed, match="réseau privé"):
            feeds.check_feed_url(url, allow_private=False)
    assert feeds.check_feed_url("http://127.0.0.1/rss", allow_private=True) == "http://127.0.0.1/rss"


class _RebindingDNS:
    """A resolver whose answer for one name changes after the first question (DNS rebinding)."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name, self.answers, self.asked = name, answers, 0
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN204
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        address = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]


def test_a_name_that_turns_private_after_the_check_is_refused(site, monkeypatch) -> None:  # noqa: ANN001
    """A feed host that answers a public address to the check, then the machine itself, is never fetched."""
    port = site.server.server_port
    dns = _RebindingDNS("feed.valrive.test", ["93.184.216.34", "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    requested: list[str] = []
    monkeypatch.setattr(site.server, "verify_request", lambda *a: requested.append("request") or True)
    url = f"http://feed.valrive.test:{port}/rss.xml"
    assert feeds.check_feed_url(url, allow_private=False) == url  # the admin saves it: a public address
    with pytest.raises(feeds.FeedError, match="réseau privé"):
        feeds.fetch_feed(url, allow_private=False)  # the daily import: now the machine itself
    assert requested == []


def test_the_connection_goes_to_the_address_that_was_checked(site, monkeypatch) -> None:  # noqa: ANN001
    """Once checked, the address is pinned: a later DNS answer is never used, and the site still sees its name."""
    port = site.server.server_port
    dns = _RebindingDNS("feed.valrive.test", ["127.0.0.1", "10.1.2.3"])
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    hosts: list[str] = []
    handler = site.server.RequestHandlerClass
    original = handler.do_GET
    monkeypatch.setattr(handler, "do_GET", lambda self: (hosts.append(self.headers["Host"]), original(self))[1])
    body = feeds.fetch_feed(f"http://feed.valrive.test:{port}/rss.xml", allow_private=True)
    assert body == RSS
    assert hosts == [f"feed.valrive.test:{port}"]
    assert dns.asked == 1  # resolved once, by Rayonne; the connection did not ask again
