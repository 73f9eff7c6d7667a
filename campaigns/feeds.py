"""Website import: the territory's RSS/Atom feed becomes draft stories to adapt for each public.

An imported story is never published as is: it is material for the composer. A post that repeats
it word for word is flagged `copied_from_website`, so the dashboard can show how much is really
written for each public (most local authorities only re-post their website).

The feed address is typed by an admin, and the server fetches it: outside development and tests,
addresses that resolve to the local machine or a private network are refused (no request to the
inside of the hosting network through Rayonne), redirects included. The name is resolved once per
request and the connection goes to the address that was checked (:class:`_PinnedAdapter`): a DNS
answer that changes between the check and the connection ("DNS rebinding") cannot lead inside.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser
import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns.models import Story, StorySource
from core.db import scoped
from core.errors import DomainError, ValidationFailed

logger = logging.getLogger(__name__)

FEED_MAX_BYTES = 5 * 1024 * 1024
FEED_TIMEOUT = 15
MAX_REDIRECTS = 3
BODY_MAX_CHARS = 3000


class FeedError(DomainError):
    """The feed could not be read; the message says why, in French."""

    status_code = 400


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int


def check_feed_url(url: str, *, allow_private: bool) -> str:
    """:raise ValidationFailed: (field `website_feed_url`) unless `url` is a public http(s) address."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed({"website_feed_url": _(
            "Adresse complète du flux attendue, par exemple https://www.valrive.fr/actualites/rss.xml.")})
    if not allow_private and not _public_host(parts.hostname):
        raise ValidationFailed({"website_feed_url": _(
            "Cette adresse mène à un réseau privé ou à la machine elle-même : seul un site public peut être lu.")})
    return url


def _addresses(host: str, port: int | None = None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """What `host` resolves to now. :raise socket.gaierror: unknown name."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise socket.gaierror(host) from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _public_host(host: str) -> bool:
    try:
        return all(address.is_global for address in _addresses(host))
    except socket.gaierror:
        return True  # unknown names fail later, at fetch time, with their own message


def set_feed_url(*, session: Session, territory: Territory, url: str | None, actor: Actor,
                 allow_private: bool) -> Territory:
    """Set (or clear, with None or "") the territory's website feed, audited. Commits: no."""
    value = check_feed_url(url, allow_private=allow_private) if url and url.strip() else None
    before = territory.website_feed_url
    if value != before:
        territory.website_feed_url = value
        session.add(territory)
        session.flush()
        audit(session=session, territory_id=territory.id, actor=actor, action="territory.feed_url", obj=territory,
              before={"website_feed_url": before}, after={"website_feed_url": value})
    return territory


class _PinnedAdapter(HTTPAdapter):
    """Sends a request to one given IP address instead of resolving the URL's host again, keeping the
    host name for the ``Host`` header and, over HTTPS, for SNI and the certificate check."""

    def __init__(self, *, address: str, host: str, https: bool) -> None:
        self._address, self._host, self._https = address, host, https
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._https:
            kwargs.update(server_hostname=self._host, assert_hostname=self._host)
        super().init_poolmanager(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        address = f"[{self._address}]" if ":" in self._address else self._address
        request.url = urlunsplit(parts._replace(netloc=address + (f":{parts.port}" if parts.port else "")))
        return super().send(request, **kwargs)


def _resolve(host: str, port: int | None, *, allow_private: bool) -> str:
    """The one address a request to `host` will go to. :raise FeedError: unknown, or private when refused."""
    try:
        addresses = _addresses(host, port)
    except socket.gaierror:
        raise FeedError(_("Le nom du site est inconnu (%(host)s).", host=host)) from None
    if not allow_private and any(not a.is_global for a in addresses):
        raise FeedError(_("Cette adresse mène à un réseau privé ou à la machine elle-même : seul un site public "
                          "peut être lu."))
    return str(addresses[0])


def _body(response: requests.Response) -> bytes:
    if response.status_code != 200:
        raise FeedError(_("Le site a répondu %(code)s à la lecture du flux.", code=response.status_code))
    chunks, size = [], 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > FEED_MAX_BYTES:
            raise FeedError(_("Le flux dépasse 5 Mo : ce n'est sans doute pas un flux d'actualités."))
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_feed(url: str, *, allow_private: bool) -> bytes:
    """The feed's bytes (5 MB at most), following up to 3 checked redirects. :raise FeedError:"""
    for _hop in range(MAX_REDIRECTS + 1):
        try:  # the address's form here; its network, once, by `_resolve` (the address then connected to)
            check_feed_url(url, allow_private=True)
        except ValidationFailed as exc:
            raise FeedError(exc.errors["website_feed_url"]) from None
        parts = urlsplit(url)
        address = _resolve(parts.hostname or "", parts.port, allow_private=allow_private)
        try:
            with requests.Session() as http:
                http.trust_env = False  # no proxy from the environment: the checked address is the one reached
                http.mount(f"{parts.scheme}://", _PinnedAdapter(address=address, host=parts.hostname or "",
                                                                  https=parts.scheme == "https"))
                with http.get(url, timeout=FEED_TIMEOUT, stream=True, allow_redirects=False,
                              headers={"User-Agent": "Rayonne feed import",
                                       "Accept": "application/rss+xml, application/atom+xml, application/xml, */*"}
                              ) as response:
                    if response.is_redirect and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    return _body(response)
        except requests.RequestException as exc:
            logger.info("feed %s unreachable: %s", url, exc)
            raise FeedError(_("Le flux est injoignable pour le moment (%(what)s).", what=type(exc).__name__)) from None
    raise FeedError(_("Le flux redirige trop de fois."))


def _text(value: str) -> str:
    value = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>", "\n", value or "")
    value = html.unescape(re.sub(r"<[^>]+>", " ", value))
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _guid(entry: dict) -> str:
    guid = str(entry.get("id") or entry.get("link") or entry.get("title") or "")
    return guid if len(guid) <= 500 else hashlib.sha256(guid.encode()).hexdigest()


def import_feed(
    *, session: Session, territory: Territory, actor: Actor, allow_private: bool,
    fetch: Callable[..., bytes] = fetch_feed,
) -> ImportResult:
    """Read the territory's feed and add each new article as a draft story (deduplicated by guid). Commits: no.

    :raise FeedError: no feed set, unreachable, or not a feed.
    """
    if not territory.website_feed_url:
        raise FeedError(_("Aucun flux RSS/Atom du site n'est renseigné pour ce territoire."))
    parsed = feedparser.parse(fetch(territory.website_feed_url, allow_private=allow_private))
    if not parsed.entries:
        if parsed.bozo or not parsed.get("version"):  # an HTML page parses without error, as no known feed
            raise FeedError(_("L'adresse ne renvoie pas un flux RSS ou Atom lisible."))
        return ImportResult(created=0, skipped=0)
    guids = [_guid(entry) for entry in parsed.entries]
    known = set(session.exec(select(Story.source_guid).where(
        Story.source == StorySource.WEBSITE, Story.source_guid.in_(guids))).all())
    created = skipped = 0
    for entry, guid in zip(parsed.entries, guids, strict=True):
        if not guid or guid in known:
            skipped += 1
            continue
        known.add(guid)
        link = entry.get("link") or None
        if link and urlsplit(link).scheme not in ("http", "https"):
            link = None
        summary = entry.get("summary") or ""
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        body = _text(summary)
        if len(body) > BODY_MAX_CHARS:
            body = body[:BODY_MAX_CHARS].rsplit(" ", 1)[0] + " …"
        session.add(Story(
            territory_id=territory.id, title=(_text(entry.get("title") or "") or _("(sans titre)"))[:200],
            body=body, link=link[:1000] if link else None, source=StorySource.WEBSITE,
            source_url=link[:1000] if link else None, source_guid=guid,
        ))
        created += 1
    session.flush()
    if created:
        audit(session=session, territory_id=territory.id, actor=actor, action="story.import",
              object_type="Story", after={"created": created, "skipped": skipped,
                                          "feed": territory.website_feed_url})
    return ImportResult(created=created, skipped=skipped)


def import_feeds_job(*, session: Session) -> str:
    """Scheduled daily (`campaigns.import_feeds`): import every territory's website feed, one at a time."""
    settings = current_app.config["RAYONNE_SETTINGS"]
    territories = session.exec(select(Territory).where(Territory.website_feed_url.is_not(None))).all()
    created = failed = 0
    for territory in territories:
        try:
            with scoped(session, territory.id):
                result = import_feed(session=session, territory=territory, actor=Actor.system(),
                                     allow_private=not settings.is_production)
                session.commit()
            created += result.created
        except Exception:
            session.rollback()
            failed += 1
            logger.exception("website feed import failed for territory %s", territory.slug)
    return f"{created} récit(s) importé(s) de {len(territories)} site(s), {failed} en échec"
