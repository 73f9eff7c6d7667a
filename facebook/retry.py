"""Retries with backoff and jitter, and the process-wide registry of throttled accounts and Pages.

Rules (the client applies them to every call):

* Only :class:`~facebook.errors.TransientError` is retried (throttling, codes 1/2, ``is_transient``,
  non-JSON 5xx, timeouts, connection errors); auth, permission, invalid-request and policy errors
  are raised at once.
* The wait is ``retry_after`` when Facebook gives one (``estimated_time_to_regain_access``), otherwise
  exponential backoff with full jitter (``base_delay`` × 2ⁿ, capped at ``max_delay``). A wait longer
  than ``max_delay`` is not slept: the :class:`~facebook.errors.ThrottledError` is raised so a job can
  move on and come back later.
* When an ad account or Page is throttled, it is recorded in :data:`throttle_registry` until the
  estimated time has passed; every call for it in that window raises ``ThrottledError`` immediately,
  without any HTTP request (calls made while throttled would extend the block). After waiting, one
  call probes again; its success lifts the block.
* **Creates are never retried blindly.** For a call that creates an object, only failures where
  Facebook certainly did nothing (a rate-limit refusal, the registry's own refusal, a connection that
  was never established) are retried. Any other transient failure — a timeout, a 5xx, code 1/2 —
  becomes :class:`~facebook.errors.OutcomeUnknownError` and is raised: the caller must reconcile (look
  the object up by its Rayonne name or message) before creating again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from facebook_business.exceptions import FacebookRequestError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from facebook.errors import (
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
    classify,
    nothing_was_sent,
    parse_usage_header,
    regain_minutes,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How long to stop calling an object throttled without an estimate from Facebook (seconds).
DEFAULT_THROTTLE_PAUSE = 60.0
#: Usage percentage above which the client logs a warning.
USAGE_WARNING_PCT = 90
APP_KEY = "app"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries. Tests pass ``sleep=lambda s: None`` to make retries instant.

    ``poll_interval`` / ``max_polls`` govern the wait for asynchronous Ads Insights report runs.
    """

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    poll_interval: float = 2.0
    max_polls: int = 150


class ThrottleRegistry:
    """Process-wide record of business objects (ad accounts, Pages) that Facebook throttled.

    Keys are ``(namespace, object_id)``; the namespace is the Graph base URL, so the sandbox and the
    real Graph API never share a block. Thread-safe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def block(self, key: tuple[str, str], seconds: float) -> None:
        """Stop calling ``key`` for ``seconds`` (a longer existing block is kept)."""
        with self._lock:
            until = self.clock() + seconds
            if until > self._until.get(key, 0):
                self._until[key] = until
        logger.warning("Facebook throttled %s; pausing calls for %.0f s", key[1], seconds)

    def remaining(self, keys: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], float] | None:
        """Return the most blocked key among ``keys`` and its remaining seconds, or ``None``."""
        now = self.clock()
        worst: tuple[tuple[str, str], float] | None = None
        with self._lock:
            for key in keys:
                until = self._until.get(key)
                if until is None:
                    continue
                if until <= now:
                    del self._until[key]
                    continue
                if worst is None or until - now > worst[1]:
                    worst = (key, until - now)
        return worst

    def release(self, keys: Iterable[tuple[str, str]]) -> None:
        """Lift the block on ``keys`` (a call to them just succeeded)."""
        with self._lock:
            for key in keys:
                self._until.pop(key, None)

    def clear(self) -> None:
        """Forget every block (tests)."""
        with self._lock:
            self._until.clear()

    def blocked(self) -> dict[tuple[str, str], float]:
        """Snapshot of the current blocks as ``{key: remaining seconds}``."""
        now = self.clock()
        with self._lock:
            return {key: until - now for key, until in self._until.items() if until > now}


#: The registry every client shares (one process = one view of Facebook's limits).
throttle_registry = ThrottleRegistry()


def note_usage(headers: Mapping[str, str], *, namespace: str, registry: ThrottleRegistry) -> None:
    """Read the usage headers of any answer: block objects with a regain estimate, warn near 100 %."""
    for object_id, minutes in regain_minutes(headers).items():
        registry.block((namespace, object_id), minutes * 60)
    buc = parse_usage_header(headers.get("X-Business-Use-Case-Usage"))
    for object_id, entries in buc.items():
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            pct = max(_pct(entry.get(k)) for k in ("call_count", "total_cputime", "total_time"))
            if pct >= USAGE_WARNING_PCT:
                logger.warning("Facebook usage for %s (%s) at %s %%", object_id, entry.get("type"), pct)
    app = parse_usage_header(headers.get("X-App-Usage"))
    if app:
        pct = max(_pct(app.get(k)) for k in ("call_count", "total_cputime", "total_time"))
        if pct >= 100:
            registry.block((namespace, APP_KEY), DEFAULT_THROTTLE_PAUSE)
        elif pct >= USAGE_WARNING_PCT:
            logger.warning("Facebook app usage at %s %%", pct)


def _pct(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _is_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, FacebookRequestError | requests.exceptions.RequestException)


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    registry: ThrottleRegistry,
    namespace: str,
    scope: Iterable[str],
    creates: bool = False,
    what: str = "Facebook call",
) -> T:
    """Run ``fn`` (which performs SDK calls) under the rules of this module's docstring.

    ``scope`` lists the business object ids the call concerns (ad account without ``act_``, Page id).
    Raises a :class:`~facebook.errors.FacebookError` subclass; other exceptions propagate untouched.
    """
    keys = [(namespace, APP_KEY), *((namespace, str(object_id)) for object_id in scope)]
    probing = {"after_wait": False}

    def attempt() -> T:
        if not probing["after_wait"]:
            blocked = registry.remaining(keys)
            if blocked is not None:
                (_, object_id), seconds = blocked
                raise ThrottledError(
                    f"{object_id} is throttled; not calling Facebook for {seconds:.0f} s",
                    retry_after=seconds,
                    estimated_time_to_regain_access=max(1, round(seconds / 60)),
                    object_ids=(object_id,),
                    from_registry=True,
                )
        probed = probing["after_wait"]
        probing["after_wait"] = False
        try:
            result = fn()
        except Exception as exc:
            if not _is_transport_error(exc):
                raise
            error = classify(exc)
            if isinstance(error, ThrottledError):
                _block(error, keys=keys, namespace=namespace, registry=registry)
            if creates and isinstance(error, TransientError) and not nothing_was_sent(exc):
                unknown = OutcomeUnknownError(
                    f"{what}: {error.message}",
                    code=error.code,
                    subcode=error.subcode,
                    fbtrace_id=error.fbtrace_id,
                    http_status=error.http_status,
                )
                raise unknown from _cause(exc)
            raise error from _cause(exc)
        if probed:
            registry.release(keys)
        return result

    def should_retry(exc: BaseException) -> bool:
        if not isinstance(exc, TransientError) or isinstance(exc, OutcomeUnknownError):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_delay

    jitter = wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after:
            return exc.retry_after
        return jitter(state)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ThrottledError):
            probing["after_wait"] = True
        logger.warning(
            "%s failed (attempt %s/%s): %s; retrying",
            what,
            state.attempt_number,
            policy.max_attempts,
            exc,
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(should_retry),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)


def _cause(exc: Exception) -> Exception | None:
    """The exception to chain: ``requests`` errors may carry the URL with its token, so drop them
    (their redacted text is already in the classified error's message)."""
    if isinstance(exc, requests.exceptions.RequestException):
        return None
    return exc


def _block(
    error: ThrottledError, *, keys: list[tuple[str, str]], namespace: str, registry: ThrottleRegistry
) -> None:
    seconds = error.retry_after or DEFAULT_THROTTLE_PAUSE
    if error.code == 4:  # the app-wide limit: every object is concerned
        registry.block((namespace, APP_KEY), seconds)
    elif error.object_ids:
        for object_id in error.object_ids:
            registry.block((namespace, object_id), seconds)
    else:
        for key in keys[1:]:
            registry.block(key, seconds)
