"""One classification of everything that can go wrong when talking to Facebook.

The SDK raises a single ``FacebookRequestError`` for every refusal, and ``requests`` raises its own
exceptions for timeouts and broken connections. :func:`classify` turns all of them into one small
family, so callers only ever catch these classes:

* :class:`TransientError` — try again later (codes 1, 2, ``is_transient: true``, non-JSON 5xx,
  timeouts, connection errors). Retried by the client with backoff and jitter.
* :class:`ThrottledError` — a rate limit (codes 4, 17, 32, 613, 80000–80014). Carries
  ``retry_after`` from ``estimated_time_to_regain_access``; the client stops calling the throttled
  account or Page until then.
* :class:`OutcomeUnknownError` — a transient failure on a call that *creates* something, after which
  Facebook may or may not have created it. Never retried blindly: reconcile first.
* :class:`AuthError` — code 190: the token is invalid or expired; the connection must be renewed.
* :class:`FacebookPermissionError` — codes 10 and 200–299: the token lacks a permission or role.
* :class:`InvalidRequestError` — code 100 and other refusals of the request itself; keeps Facebook's
  ``error_user_title`` / ``error_user_msg`` and the blamed fields for the user.
* :class:`PolicyError` — code 368 and other policy blocks (e.g. an ad refused as political).

Every error carries ``code``, ``subcode``, ``fbtrace_id`` and ``user_message``, a plain French and
English sentence safe to show to a territory's staff (it never contains a token).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import requests
from facebook_business.exceptions import FacebookRequestError
from urllib3.exceptions import NewConnectionError

logger = logging.getLogger(__name__)

#: Rate-limit codes (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
#: Codes Facebook documents as temporary.
TRANSIENT_CODES = frozenset({1, 2})
AUTH_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
POLICY_CODES = frozenset({368})


class FacebookError(Exception):
    """Base class: a call to Facebook failed.

    ``message`` is Facebook's technical message (for logs), ``user_message`` a plain French + English
    sentence for the interface.
    """

    default_user_message = (
        "Facebook a renvoyé une erreur inattendue. / Facebook returned an unexpected error."
    )

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.user_message = user_message or self.default_user_message

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return " ".join(parts)


class TransientError(FacebookError):
    """A temporary failure: the same call may succeed later. ``retry_after`` is in seconds, if known."""

    default_user_message = (
        "Facebook est momentanément indisponible ; Rayonne réessaiera automatiquement. / "
        "Facebook is temporarily unavailable; Rayonne will retry automatically."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ThrottledError(TransientError):
    """A rate limit was hit. No call reached Facebook's business logic, so a retry is always safe.

    ``estimated_time_to_regain_access`` is in minutes, as in the ``X-Business-Use-Case-Usage`` header;
    ``object_ids`` are the throttled business objects (ad account or Page ids); ``from_registry`` is true
    when the client refused the call itself, without any HTTP request, because the object is paused.
    """

    default_user_message = (
        "Trop d'appels à Facebook pour ce compte : Rayonne fait une pause puis reprendra. / "
        "Too many calls to Facebook for this account: Rayonne is pausing and will resume."
    )

    def __init__(
        self,
        message: str,
        *,
        estimated_time_to_regain_access: int | None = None,
        object_ids: tuple[str, ...] = (),
        from_registry: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.estimated_time_to_regain_access = estimated_time_to_regain_access
        self.object_ids = object_ids
        self.from_registry = from_registry


class OutcomeUnknownError(TransientError):
    """A call that creates an object failed in a way that does not say whether Facebook created it.

    The caller must look the object up (``find_post`` / ``find_object_by_name``) before creating again.
    """

    default_user_message = (
        "La réponse de Facebook s'est perdue ; Rayonne vérifie si l'objet a été créé avant de réessayer. / "
        "Facebook's answer was lost; Rayonne checks whether the object was created before retrying."
    )


class AuthError(FacebookError):
    """The access token is invalid, expired or revoked (code 190): the connection must be renewed."""

    default_user_message = (
        "La connexion à Facebook a expiré ou a été révoquée : un administrateur doit reconnecter le "
        "territoire. / The Facebook connection expired or was revoked: an administrator must reconnect "
        "the territory."
    )


class FacebookPermissionError(FacebookError):
    """The token is valid but lacks a permission or a role on the Page or ad account (10, 200–299)."""

    default_user_message = (
        "Le jeton Facebook n'a pas les droits nécessaires sur la Page ou le compte publicitaire. / "
        "The Facebook token lacks the required permission on the Page or the ad account."
    )


class InvalidRequestError(FacebookError):
    """Facebook refused the request's content (code 100 and the like). Not retried.

    ``user_title`` / ``user_msg`` are Facebook's own explanation for end users, when it gives one;
    ``blame_fields`` names the offending parameters.
    """

    default_user_message = (
        "Facebook a refusé la demande : vérifiez les paramètres. / "
        "Facebook refused the request: check its settings."
    )

    def __init__(
        self,
        message: str,
        *,
        user_title: str | None = None,
        user_msg: str | None = None,
        blame_fields: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("user_message") is None and (user_title or user_msg):
            kwargs["user_message"] = " : ".join(p for p in (user_title, user_msg) if p)
        super().__init__(message, **kwargs)
        self.user_title = user_title
        self.user_msg = user_msg
        self.blame_fields = blame_fields or []


class PolicyError(FacebookError):
    """Facebook blocked the action under its policies (code 368, ad refused...)."""

    default_user_message = (
        "Facebook a bloqué cette action au titre de ses règles (par exemple une publicité jugée "
        "politique ou sociale dans l'UE). / Facebook blocked this action under its policies (for "
        "example an ad considered political or social-issue in the EU)."
    )


class UnexpectedResponseError(requests.exceptions.RequestException):
    """Raised from a ``requests`` response hook for answers the SDK would wrongly take as a success.

    The SDK's ``FacebookResponse.is_success`` ignores the HTTP status whenever the body is not empty,
    so a proxy's ``502 <html>Bad Gateway</html>`` would come back as a "successful" string. The client's
    session hook raises this instead, and :func:`classify` maps it to a :class:`TransientError`.
    """

    def __init__(self, status: int, body_excerpt: str, *, response: requests.Response | None = None):
        super().__init__(f"HTTP {status} with a non-Graph body: {body_excerpt!r}", response=response)
        self.status = status
        self.body_excerpt = body_excerpt


_SECRET_PARAMS = re.compile(r"(access_token|appsecret_proof|input_token|client_secret)=[^&\s'\"]+")


def redact(text: str) -> str:
    """Hide token-like query parameters in a message (``requests`` puts the URL, query included, in some)."""
    return _SECRET_PARAMS.sub(r"\1=***", text)


def parse_usage_header(value: str | None) -> dict[str, Any]:
    """Parse a JSON usage header (``X-App-Usage``, ``X-Business-Use-Case-Usage``); ``{}`` if absent/bad."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def regain_minutes(headers: Mapping[str, str] | None) -> dict[str, int]:
    """Return ``{object_id: minutes}`` for every object the BUC header says is blocked (minutes > 0)."""
    if not headers:
        return {}
    usage = parse_usage_header(_header(headers, "X-Business-Use-Case-Usage"))
    blocked: dict[str, int] = {}
    for object_id, entries in usage.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            try:
                minutes = int(entry.get("estimated_time_to_regain_access") or 0)
            except (TypeError, ValueError):
                continue
            if minutes > 0:
                blocked[str(object_id)] = max(minutes, blocked.get(str(object_id), 0))
    return blocked


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests gives a case-insensitive dict, batch answers give plain dicts; be lenient.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def _blame_fields(exc: FacebookRequestError) -> list[str]:
    specs = exc.api_blame_field_specs() or []
    fields: list[str] = []
    for spec in specs:
        if isinstance(spec, list):
            fields.append(".".join(str(part) for part in spec))
        else:
            fields.append(str(spec))
    return fields


def from_error_body(
    body: Any, *, http_status: int | None = None, headers: Mapping[str, str] | None = None
) -> FacebookError:
    """Classify a Graph error body ``{"error": {...}}`` (used for batch entries and report runs)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = body if isinstance(body, str) else json.dumps(body)[:200]
        if http_status is not None and http_status >= 500:
            return TransientError(f"HTTP {http_status}: {text[:200]}", http_status=http_status)
        return FacebookError(f"Unexpected answer from Facebook: {text[:200]}", http_status=http_status)
    return _classify_fields(
        code=_int_or_none(error.get("code")),
        subcode=_int_or_none(error.get("error_subcode")),
        message=str(error.get("message") or "Facebook error"),
        is_transient=bool(error.get("is_transient")),
        fbtrace_id=error.get("fbtrace_id"),
        user_title=error.get("error_user_title"),
        user_msg=error.get("error_user_msg"),
        blame_fields=_blame_from_error_data(error.get("error_data")),
        http_status=http_status,
        headers=headers,
    )


def _blame_from_error_data(error_data: Any) -> list[str]:
    if isinstance(error_data, str):
        try:
            error_data = json.loads(error_data)
        except ValueError:
            return []
    if not isinstance(error_data, dict):
        return []
    return [
        ".".join(str(p) for p in spec) if isinstance(spec, list) else str(spec)
        for spec in error_data.get("blame_field_specs") or []
    ]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _classify_fields(
    *,
    code: int | None,
    subcode: int | None,
    message: str,
    is_transient: bool,
    fbtrace_id: str | None,
    user_title: str | None,
    user_msg: str | None,
    blame_fields: list[str],
    http_status: int | None,
    headers: Mapping[str, str] | None,
) -> FacebookError:
    common: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "fbtrace_id": fbtrace_id,
        "http_status": http_status,
    }
    if code in THROTTLE_CODES:
        blocked = regain_minutes(headers)
        minutes = max(blocked.values()) if blocked else None
        return ThrottledError(
            message,
            retry_after=minutes * 60 if minutes else None,
            estimated_time_to_regain_access=minutes,
            object_ids=tuple(blocked),
            **common,
        )
    if code in AUTH_CODES:
        return AuthError(message, **common)
    if code in PERMISSION_CODES:
        return FacebookPermissionError(message, **common)
    if code in POLICY_CODES:
        return PolicyError(message, **common)
    if code in TRANSIENT_CODES or is_transient:
        return TransientError(message, **common)
    if http_status is not None and http_status >= 500 and code is None:
        return TransientError(message, **common)
    if code is not None:
        return InvalidRequestError(
            message, user_title=user_title, user_msg=user_msg, blame_fields=blame_fields, **common
        )
    return FacebookError(message, **common)


def classify(exc: BaseException) -> FacebookError:
    """Map an SDK, ``requests`` or Rayonne exception to the :class:`FacebookError` family.

    Calls Facebook: no. Anything that is not a Facebook/transport error is wrapped in the base class
    (the caller should not normally pass those).
    """
    if isinstance(exc, FacebookError):
        return exc
    if isinstance(exc, FacebookRequestError):
        body = exc.body()
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            status = exc.http_status()
            excerpt = body if isinstance(body, str) else json.dumps(body)[:200]
            if status is not None and status >= 500:
                return TransientError(f"HTTP {status}: {str(excerpt)[:200]}", http_status=status)
            return FacebookError(f"HTTP {status}: {str(excerpt)[:200]}", http_status=status)
        return _classify_fields(
            code=exc.api_error_code(),
            subcode=exc.api_error_subcode(),
            message=exc.api_error_message() or "Facebook error",
            is_transient=bool(exc.api_transient_error()),
            fbtrace_id=error.get("fbtrace_id"),
            user_title=error.get("error_user_title"),
            user_msg=error.get("error_user_msg"),
            blame_fields=_blame_fields(exc),
            http_status=exc.http_status(),
            headers=exc.http_headers(),
        )
    if isinstance(exc, UnexpectedResponseError):
        if exc.status >= 500 or exc.status in (408, 429):
            return TransientError(str(exc), http_status=exc.status)
        return FacebookError(str(exc), http_status=exc.status)
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientError(f"Timeout talking to Facebook ({type(exc).__name__}): {redact(str(exc))}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return TransientError(f"Connection to Facebook failed ({type(exc).__name__}): {redact(str(exc))}")
    if isinstance(exc, requests.exceptions.RequestException):
        return TransientError(f"HTTP transport error ({type(exc).__name__}): {redact(str(exc))}")
    return FacebookError(f"{type(exc).__name__}: {exc}")


def nothing_was_sent(exc: BaseException) -> bool:
    """True when Facebook certainly did not act on the request (safe to repeat even a create).

    That is a rate-limit refusal (Facebook throttles before running the call), a refusal by the
    client's own throttle registry, or a connection that was never established.
    """
    if isinstance(exc, ThrottledError):
        return True
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        # "Connection refused": the request never left; a reset after sending stays ambiguous.
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError)
    if isinstance(exc, FacebookRequestError):
        return exc.api_error_code() in THROTTLE_CODES
    return False
