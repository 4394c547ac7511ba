"""API-key authorization for FastAPI services: ``X-API-Key`` checked against ``key:scope`` pairs.

Self-contained on purpose (it depends on FastAPI and the standard library only) so the forecast
service can share it. Scopes are ordered ``read < write < admin``: a key satisfies every scope up
to its own. An empty key table turns authorization off (development): ``install_api_keys`` logs
a warning saying so, once, at start.

Usage::

    install_api_keys(app, settings.api_keys)
    router = APIRouter(dependencies=[Depends(require_scope("read"))])
    @router.post("/things", dependencies=[Depends(require_scope("write"))])

A missing or unknown key answers 401, a known key with too small a scope 403.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from fastapi import FastAPI, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

log = logging.getLogger(__name__)

HEADER = "X-API-Key"
_header_scheme = APIKeyHeader(name=HEADER, auto_error=False, description="key:scope pairs come from SHELFCAST_API_KEYS")


class Scope(IntEnum):
    """What a key may do; a higher scope includes the lower ones."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> "Scope":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown API key scope '{text.strip()}' (use read, write or admin)") from None


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys; ``enabled`` is false when none are configured (auth off)."""

    scopes: dict[str, Scope]

    @property
    def enabled(self) -> bool:
        return bool(self.scopes)

    @classmethod
    def parse(cls, text: str) -> "ApiKeys":
        """Read ``"key:scope,key:scope"``; a malformed entry raises ``ValueError`` so a bad deployment fails at start."""
        scopes: dict[str, Scope] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            key, sep, scope = entry.rpartition(":")
            if not sep or not key.strip():
                raise ValueError("API keys must be comma-separated key:scope pairs (e.g. 'k1:read,k2:admin'); found an entry without a scope")
            scopes[key.strip()] = Scope.parse(scope)
        return cls(scopes)

    def scope_of(self, presented: str) -> Scope | None:
        """The scope of a presented key, compared in constant time against every configured key."""
        found: Scope | None = None
        for key, scope in self.scopes.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                found = scope
        return found


def install_api_keys(app: FastAPI, text: str) -> ApiKeys:
    """Parse the key table onto ``app.state.api_keys``; warn when authorization is off."""
    keys = ApiKeys.parse(text)
    app.state.api_keys = keys
    if not keys.enabled:
        log.warning("no API keys configured (SHELFCAST_API_KEYS is empty): authorization is OFF — development only")
    return keys


def require_scope(needed: str | Scope) -> Callable[..., Scope | None]:
    """A dependency that admits requests whose ``X-API-Key`` has at least scope ``needed``.

    Returns the caller's scope (``None`` when authorization is off) so endpoints may look at it.
    """
    wanted = needed if isinstance(needed, Scope) else Scope.parse(needed)

    def check(request: Request, api_key: str | None = Security(_header_scheme)) -> Scope | None:
        keys: ApiKeys = getattr(request.app.state, "api_keys", ApiKeys({}))
        if not keys.enabled:
            return None
        if not api_key:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {HEADER} header", headers={"WWW-Authenticate": "ApiKey"})
        scope = keys.scope_of(api_key)
        if scope is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "ApiKey"})
        if scope < wanted:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key has scope '{scope.name.lower()}'; '{wanted.name.lower()}' is required")
        return scope

    check.__name__ = f"require_{wanted.name.lower()}_scope"
    return check
