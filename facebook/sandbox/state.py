"""The sandbox's world: tokens, Pages, ad accounts, posts and ad objects, and its clock.

Everything lives in one JSON-serialisable dict (``SandboxState.data``) guarded by one re-entrant
lock, saved atomically to a file after changes (or kept in memory when no path is given).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

FORMAT = 1
NODE_KINDS = ("pages", "accounts", "posts", "campaigns", "adsets", "creatives", "ads", "runs")
KIND_LABEL = {
    "pages": "Page",
    "accounts": "AdAccount",
    "posts": "Post",
    "campaigns": "Campaign",
    "adsets": "AdSet",
    "creatives": "AdCreative",
    "ads": "Ad",
    "runs": "AdReportRun",
}


def rng(seed: int, *parts: Any) -> float:
    """A deterministic number in [0, 1) for the given seed and parts."""
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def empty_world(seed: int, clock: float) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "seed": seed,
        "clock": clock,
        "started": clock,
        "counters": {"object": 120210000000000000, "post": 122100000000000000, "run": 712300000000000},
        "tokens": {},
        **{kind: {} for kind in NODE_KINDS},
    }


class SandboxState:
    """The world plus its lock and persistence. Callers hold ``lock`` while reading or changing it."""

    def __init__(self, path: str | None = None, *, seed: int = 1, clock: float | None = None) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.dirty = False
        self._last_save = 0.0
        self._boost_cache: tuple[int, dict[str, list[str]]] | None = None
        self.version = 0  # bumped when ads or creatives change (invalidates derived indexes)
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                self.data = json.load(fh)
            if self.data.get("format") != FORMAT:
                raise ValueError(f"Sandbox state {path} has an unknown format")
        else:
            start = float(int(clock if clock is not None else time.time()))
            self.data = empty_world(seed, start)
            self.dirty = True

    # ------------------------------------------------------------------ basics

    @property
    def seed(self) -> int:
        return int(self.data["seed"])

    @property
    def clock(self) -> float:
        return float(self.data["clock"])

    def rng(self, *parts: Any) -> float:
        return rng(self.seed, *parts)

    def new_id(self, counter: str) -> str:
        self.data["counters"][counter] += 1
        return str(self.data["counters"][counter])

    def touch(self) -> None:
        self.dirty = True

    def changed_ads(self) -> None:
        self.version += 1
        self.dirty = True

    def find(self, node_id: str) -> tuple[str, dict[str, Any]] | tuple[None, None]:
        """Return ``(kind, node)`` for any id the sandbox knows, or ``(None, None)``."""
        for kind in NODE_KINDS:
            node = self.data[kind].get(node_id)
            if node is not None:
                if node.get("deleted") and kind in ("posts", "creatives"):
                    return None, None
                return kind, node
        return None, None

    def owner(self, kind: str, node: dict[str, Any]) -> str | None:
        """The business object (Page id or ``act_`` id) a node belongs to."""
        if kind == "pages":
            return str(node["id"])
        if kind == "posts":
            return str(node["page_id"])
        if kind == "accounts":
            return str(node["id"])
        return str(node.get("account_id")) if node.get("account_id") else None

    def boosts_by_post(self) -> dict[str, list[str]]:
        """Index post id → ids of the ads whose creative boosts it (cached until ads change)."""
        if self._boost_cache is None or self._boost_cache[0] != self.version:
            index: dict[str, list[str]] = {}
            creatives = self.data["creatives"]
            for ad in self.data["ads"].values():
                creative = creatives.get(ad.get("creative_id") or "")
                if creative and creative.get("object_story_id"):
                    index.setdefault(creative["object_story_id"], []).append(ad["id"])
            self._boost_cache = (self.version, index)
        return self._boost_cache[1]

    # ------------------------------------------------------------------ persistence

    def save(self, *, force: bool = False, min_interval: float = 5.0) -> None:
        """Write the world atomically if it changed (at most every ``min_interval`` s unless forced)."""
        if not self.path or not self.dirty:
            return
        now = time.monotonic()
        if not force and now - self._last_save < min_interval:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.dirty = False
        self._last_save = now

    def reset(self, *, seed: int | None = None) -> None:
        """Forget everything and restart the clock at the current real time."""
        self.data = empty_world(self.seed if seed is None else seed, float(int(time.time())))
        self.changed_ads()

    # ------------------------------------------------------------------ provisioning

    def setup(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Provision Pages, ad accounts and user tokens (idempotent: existing ones are updated).

        A Page's followers are only set when the Page is new, so re-running the demo setup keeps the
        simulated growth.
        """
        from facebook.sandbox.simulation import backfill_followers  # circular at import time

        created: dict[str, list[str]] = {"pages": [], "ad_accounts": [], "users": []}
        for spec in payload.get("pages") or []:
            page_id = _numeric_id(spec.get("id"), "page id")
            page = self.data["pages"].get(page_id)
            if page is None:
                followers = int(spec.get("followers") or 0)
                page = {
                    "id": page_id,
                    "followers": float(followers),
                    "followers_history": {},
                    "created": self.clock,
                }
                self.data["pages"][page_id] = page
                backfill_followers(self, page)
                created["pages"].append(page_id)
            page["name"] = str(spec.get("name") or page.get("name") or f"Page {page_id}")
            page["category"] = str(spec.get("category") or page.get("category") or "Government organization")
            token = spec.get("page_token")
            if token:
                self._grant(str(token), kind="page", name=page["name"], pages=[page_id], owner=page_id)
                page["page_token"] = str(token)
        for spec in payload.get("ad_accounts") or []:
            raw = str(spec.get("id") or "")
            account_id = raw if raw.startswith("act_") else f"act_{raw}"
            _numeric_id(account_id.removeprefix("act_"), "ad account id")
            account = self.data["accounts"].get(account_id)
            if account is None:
                account = {
                    "id": account_id,
                    "account_id": account_id.removeprefix("act_"),
                    "amount_spent": 0.0,
                }
                self.data["accounts"][account_id] = account
                created["ad_accounts"].append(account_id)
            account["name"] = str(spec.get("name") or account.get("name") or f"Compte {account_id}")
            account["currency"] = str(spec.get("currency") or account.get("currency") or "EUR").upper()
            cap = spec.get("spend_cap", account.get("spend_cap"))
            account["spend_cap"] = int(cap) if cap else None
            account["timezone_name"] = str(spec.get("timezone_name") or "Europe/Paris")
            token = spec.get("access_token")
            if token:
                self._grant(
                    str(token),
                    kind="system_user",
                    name=str(spec.get("token_name") or "Rayonne system user"),
                    ad_accounts=[account_id],
                    pages=[str(p) for p in spec.get("pages") or []],
                )
                account["access_token"] = str(token)
        for spec in payload.get("users") or []:
            token = str(spec.get("token") or "")
            if not token:
                raise ValueError("A user needs a token")
            accounts = [a if str(a).startswith("act_") else f"act_{a}" for a in spec.get("ad_accounts") or []]
            self._grant(
                token,
                kind="user",
                name=str(spec.get("name") or "Sandbox user"),
                pages=[str(p) for p in spec.get("pages") or []],
                ad_accounts=accounts,
            )
            created["users"].append(token)
        if "settings" in payload:
            from facebook.sandbox.simulation import DEFAULT_SETTINGS

            unknown = set(payload["settings"] or {}) - set(DEFAULT_SETTINGS)
            if unknown:
                raise ValueError(
                    f"Unknown sandbox settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}"
                )
            self.data.setdefault("settings", {}).update(
                {k: float(v) for k, v in (payload["settings"] or {}).items()}
            )
        if "removed_metrics" in payload:
            # Meta keeps retiring metrics: let tests and the demo retire more (e.g. post_clicks).
            self.data["removed_metrics"] = sorted({str(m) for m in payload["removed_metrics"] or []})
        self.touch()
        return created

    def _grant(
        self,
        token: str,
        *,
        kind: str,
        name: str,
        pages: list[str] | None = None,
        ad_accounts: list[str] | None = None,
        owner: str | None = None,
    ) -> None:
        entry = self.data["tokens"].setdefault(
            token,
            {
                "kind": kind,
                "name": name,
                "pages": [],
                "ad_accounts": [],
                "user_id": str(10_000_000_000_000 + int(hashlib.sha256(token.encode()).hexdigest()[:10], 16)),
            },
        )
        entry["kind"] = kind
        entry["name"] = name
        if owner:
            entry["owner"] = owner
        for page in pages or []:
            if page not in entry["pages"]:
                entry["pages"].append(page)
        for account in ad_accounts or []:
            if account not in entry["ad_accounts"]:
                entry["ad_accounts"].append(account)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the world (for ``GET /_sandbox/state``)."""
        return copy.deepcopy(self.data)


def _numeric_id(value: Any, what: str) -> str:
    text = str(value or "")
    if not text.isdigit():
        raise ValueError(f"{what} must be a numeric string, got {value!r}")
    return text
