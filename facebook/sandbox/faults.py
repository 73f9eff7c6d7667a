"""Injected faults: what can go wrong, for whom, and how many times.

A fault spec is a JSON object (``POST /_sandbox/faults``)::

    {"kind": "throttle", "target": "act_2001", "count": 2, "minutes": 5}

* ``kind`` (required), one of :data:`KINDS`.
* ``target``: an ad account (``act_…`` or its number), a Page id or an access token; ``null`` or absent
  means every request.
* ``count``: how many matching calls fail; ``null`` or absent means until cleared.
* ``methods``: only these HTTP methods (e.g. ``["POST"]``); ``path_contains``: only paths containing
  this text (e.g. ``"insights"``).
* kind-specific: ``code`` (throttle: 80004 ads / 80000 insights / 80001 Pages / 4 app by default;
  error_500: 2), ``subcode``, ``minutes`` (throttle: ``estimated_time_to_regain_access``, default 5),
  ``delay`` (timeout: seconds, default 2), ``when`` (timeout / bad_gateway: ``"after"`` — the request is
  carried out, then the answer is late or broken; ``"before"`` — nothing is done).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = {
    "throttle": "HTTP 400, code 80004/80000/80001 (or 4), subcode 2446079, is_transient, BUC header with "
    "estimated_time_to_regain_access > 0",
    "error_500": "HTTP 500 JSON, code 2 'An unexpected error has occurred', is_transient",
    "bad_gateway": "HTTP 502 with an HTML body <html>Bad Gateway</html> (not JSON)",
    "timeout": "the answer comes after `delay` seconds (longer than the client's timeout)",
    "expired_token": "HTTP 400, code 190, subcode 463 'Session has expired'",
    "crash_after_create": "a create is carried out, then the answer is HTTP 500 code 2",
    "batch_null": "inside a batch, the operation is not run and its entry is null",
    "report_failed": "an async report run ends in 'Job Failed' with error fields",
}
#: Kinds that concern the HTTP exchange as a whole (checked once per HTTP request).
TRANSPORT_KINDS = frozenset({"bad_gateway", "timeout"})


@dataclass
class Fault:
    id: str
    kind: str
    target: str | None = None
    count: int | None = None
    methods: list[str] | None = None
    path_contains: str | None = None
    code: int | None = None
    subcode: int | None = None
    minutes: int = 5
    delay: float = 2.0
    when: str = "after"
    fired: int = field(default=0)

    def matches(self, *, owners: list[str], token: str | None, method: str, path: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.methods and method.upper() not in self.methods:
            return False
        if self.path_contains and self.path_contains not in path:
            return False
        if self.target is None:
            return True
        candidates = set(owners) | {o.removeprefix("act_") for o in owners}
        return self.target in candidates or (token is not None and self.target == token)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """The active faults. Thread-safe; a fault stops matching once it fired ``count`` times."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"Unknown fault kind {kind!r}; expected one of {sorted(KINDS)}")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or null")
        target = spec.get("target")
        when = spec.get("when", "after")
        if when not in ("after", "before"):
            raise ValueError("when must be 'after' or 'before'")
        methods = spec.get("methods")
        fault = Fault(
            id=f"f{next(self._ids)}",
            kind=kind,
            target=str(target) if target not in (None, "") else None,
            count=count,
            methods=[str(m).upper() for m in methods] if methods else None,
            path_contains=spec.get("path_contains") or None,
            code=int(spec["code"]) if spec.get("code") is not None else None,
            subcode=int(spec["subcode"]) if spec.get("subcode") is not None else None,
            minutes=int(spec.get("minutes", 5)),
            delay=float(spec.get("delay", 2.0)),
            when=when,
        )
        if fault.kind == "throttle" and fault.minutes < 1:
            raise ValueError("a throttle needs minutes >= 1 (estimated_time_to_regain_access > 0)")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, fault_id: str | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.public() for f in self._faults]

    def take(
        self,
        kinds: set[str] | frozenset[str],
        *,
        owners: list[str],
        token: str | None,
        method: str,
        path: str,
    ) -> Fault | None:
        """Return (and count) the first active fault of one of ``kinds`` matching this call."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(
                    owners=owners, token=token, method=method, path=path
                ):
                    fault.fired += 1
                    return fault
        return None
