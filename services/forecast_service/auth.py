"""API-key authentication for the forecast API: ``X-API-Key`` against ``SHELFCAST_API_KEYS``.

Keys are configured as ``key:scope`` pairs, comma-separated; scopes are ordered
``read < write < admin`` so a higher scope can do everything a lower one can. An empty setting turns
auth off (for local runs) and the app logs a warning at start, so nobody ships that by accident.
Keys are compared in constant time. The same behaviour as the promotion engine's auth, kept per
service until it moves to ``services/common``.
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from enum import IntEnum

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=HEADER, auto_error=False, description="API key; scopes read < write < admin")


class Scope(IntEnum):
    """What a key may do; comparisons follow the order read < write < admin."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> "Scope":
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown API key scope '{name}' (use read, write or admin)") from None


class ApiKeys:
    """The configured keys and their scopes; ``enabled`` is False when none are configured."""

    def __init__(self, scopes_by_key: dict[str, Scope]) -> None:
        self._scopes_by_key = dict(scopes_by_key)

    @classmethod
    def parse(cls, setting: str) -> "ApiKeys":
        """``"k1:read, k2:admin"`` → keys; a malformed entry raises ValueError naming it (fail at start)."""
        scopes: dict[str, Scope] = {}
        for entry in (part.strip() for part in setting.split(",")):
            if not entry:
                continue
            key, sep, scope = entry.rpartition(":")
            if not sep or not key.strip():
                raise ValueError("API keys must be comma-separated key:scope pairs (e.g. 'k1:read,k2:admin'); "
                                 "found an entry without a scope")  # never echo the entry: it may be a secret
            scopes[key.strip()] = Scope.parse(scope)
        return cls(scopes)

    @property
    def enabled(self) -> bool:
        return bool(self._scopes_by_key)

    def scope_of(self, presented: str) -> Scope | None:
        """The scope of a presented key, or None; every configured key is compared (constant time)."""
        found: Scope | None = None
        for key, scope in self._scopes_by_key.items():
            if hmac.compare_digest(presented.encode(), key.encode()):
                found = scope
        return found


def require_scope(needed: Scope) -> Callable[..., Awaitable[Scope | None]]:
    """A dependency refusing requests without a key (401), with an unknown key (401) or a lower scope (403)."""

    async def check(request: Request, presented: str | None = Security(_api_key_header)) -> Scope | None:
        keys: ApiKeys = request.app.state.api_keys
        if not keys.enabled:
            return None
        if not presented:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {HEADER} header",
                                headers={"WWW-Authenticate": f'ApiKey header="{HEADER}"'})
        scope = keys.scope_of(presented)
        if scope is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid {HEADER}",
                                headers={"WWW-Authenticate": f'ApiKey header="{HEADER}"'})
        if scope < needed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this key has scope '{scope.name.lower()}'; this endpoint needs '{needed.name.lower()}'")
        return scope

    check.__name__ = f"require_{needed.name.lower()}"
    return check


require_read = require_scope(Scope.READ)
require_write = require_scope(Scope.WRITE)
require_admin = require_scope(Scope.ADMIN)
