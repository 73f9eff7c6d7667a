"""The Graph wire format shared by the sandbox's handlers: errors, operations, fields and parameters."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from facebook import GRAPH_API_VERSION
from facebook.sandbox import simulation

MAX_LIMIT = 5000


class GraphError(Exception):
    """A Graph error answer."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        type_: str = "OAuthException",
        status: int = 400,
        transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
        blame: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type_ = type_
        self.status = status
        self.transient = transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.blame = blame
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type_,
            "code": self.code,
            "is_transient": self.transient,
            "fbtrace_id": fbtrace_id(),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        if self.blame:
            error["error_data"] = json.dumps({"blame_field_specs": [[b] for b in self.blame]})
        return {"error": error}


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


def transient_500(
    message: str = "An unexpected error has occurred. Please retry your request later.",
) -> GraphError:
    return GraphError(message, code=2, status=500, transient=True)


@dataclass
class Op:
    """One Graph operation."""

    method: str
    segments: list[str]
    params: dict[str, Any]
    token: str | None
    base_url: str = ""
    version: str = GRAPH_API_VERSION
    in_batch: bool = False

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)


@dataclass(frozen=True)
class Upload:
    """A file sent with a multipart request (``request.files``), as it reaches an operation's params.

    Graph reads the file's bytes, never its name or the browser's content type: handlers decide what
    the file is from ``data``. ``repr`` leaves the bytes out.
    """

    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> Upload:
        return cls(filename, content_type, len(data), hashlib.sha256(data).hexdigest(), data)


@dataclass
class Answer:
    status: int
    body: Any
    owners: list[str] = field(default_factory=list)
    usage_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    null: bool = False  # batch entry not run (fault "batch_null")


@dataclass
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    subfields: list[FieldSpec] | None = None


# ---------------------------------------------------------------------- parameter helpers


def parse_fields(text: str) -> list[FieldSpec]:
    """Parse Graph field syntax: ``a,b.limit(0).summary(true),c{d,e}``."""
    text = text.strip()
    if text.startswith("["):  # async insights send fields as a JSON list
        try:
            text = ",".join(str(f) for f in json.loads(text))
        except ValueError as exc:
            raise GraphError("(#100) fields must be a comma-separated list or a JSON array") from exc
    specs, pos = _parse_field_list(text, 0)
    if pos != len(text):
        raise GraphError(f"Syntax error: unexpected {text[pos]!r} at character {pos}: {text}", code=2500)
    return specs


def _parse_field_list(text: str, pos: int) -> tuple[list[FieldSpec], int]:
    specs: list[FieldSpec] = []
    while pos < len(text):
        while pos < len(text) and text[pos] == " ":
            pos += 1
        start = pos
        while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
            pos += 1
        if start == pos:
            raise GraphError(f"Syntax error at character {pos}: {text}", code=2500)
        spec = FieldSpec(text[start:pos])
        while pos < len(text) and text[pos] in ".{":
            if text[pos] == ".":
                pos += 1
                start = pos
                while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
                    pos += 1
                name = text[start:pos]
                if pos >= len(text) or text[pos] != "(":
                    raise GraphError(f"Syntax error at character {pos}: {text}", code=2500)
                end = text.find(")", pos)
                if end < 0:
                    raise GraphError(f"Syntax error: unclosed '(' in {text}", code=2500)
                spec.modifiers[name] = text[pos + 1 : end]
                pos = end + 1
            else:
                spec.subfields, pos = _parse_field_list(text, pos + 1)
                if pos >= len(text) or text[pos] != "}":
                    raise GraphError(f"Syntax error: unclosed '{{' in {text}", code=2500)
                pos += 1
        specs.append(spec)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return specs, pos


def p_json(params: dict[str, Any], name: str, default: Any = None) -> Any:
    raw = params.get(name)
    if raw is None:
        return default
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text[:1] in ("[", "{") or text in ("true", "false", "null"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise GraphError(f"(#100) Param {name} must be a valid JSON value", blame=[name]) from exc
    return raw


def p_list(params: dict[str, Any], name: str) -> list[str]:
    value = p_json(params, name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise GraphError(f"(#100) Param {name} must be an array", blame=[name])


def p_bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise GraphError(f"(#100) Param {name} must be a boolean", blame=[name])


def p_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError as exc:
        raise GraphError(f"(#100) Param {name} must be a number", blame=[name]) from exc


def parse_time(value: Any, name: str = "time") -> float:
    """Unix seconds, ISO 8601 (``+0000``, ``+00:00``, ``Z`` or naive = UTC) or a bare date."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return float(int(text))
    candidate = text.replace("Z", "+00:00")
    if len(candidate) > 5 and candidate[-5] in "+-" and candidate[-3] != ":":
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise GraphError(f"(#100) Param {name} must be a valid date or time", blame=[name]) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def money_string(amount_minor: int, currency: str) -> str:
    """Minor units → Graph's major-unit decimal string ("42.17")."""
    offset = simulation.offset(currency)
    if offset == 1:
        return str(amount_minor)
    return str((Decimal(amount_minor) / Decimal(offset)).quantize(Decimal("0.01")))


def cursor(offset: int) -> str:
    """An opaque paging cursor for a list offset (Graph's cursors are opaque base64 too)."""
    return base64.urlsafe_b64encode(f"c:{offset}".encode()).decode().rstrip("=")


def uncursor(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(text.split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphError("(#100) The after cursor is invalid", blame=["after"]) from exc


def compare(value: Any, operator: str, expected: Any) -> bool:
    """Apply a ``filtering`` operator (EQUAL, NOT_EQUAL, IN, NOT_IN, CONTAIN, NOT_CONTAIN)."""
    op = operator.upper()
    if op == "EQUAL":
        return str(value) == str(expected)
    if op == "NOT_EQUAL":
        return str(value) != str(expected)
    if op in ("IN", "NOT_IN"):
        if not isinstance(expected, list):
            raise GraphError(f"(#100) Filtering operator {op} needs a list value", blame=["filtering"])
        inside = str(value) in {str(v) for v in expected}
        return inside if op == "IN" else not inside
    if op in ("CONTAIN", "NOT_CONTAIN"):
        found = str(expected).lower() in str(value).lower()
        return found if op == "CONTAIN" else not found
    raise GraphError(
        f"(#100) Filtering operator {operator} is not supported by the sandbox", blame=["filtering"]
    )


def as_date(value: Any, default: date) -> date:
    if value in (None, ""):
        return default
    return datetime.fromtimestamp(parse_time(value), tz=UTC).date()
