"""API-key authorization shared by the HTTP services: ``X-API-Key`` checked against ``SHELFCAST_API_KEYS``.

Keys are configured as comma-separated ``key:scope`` pairs; scopes are ordered
``read < write < admin`` so a key satisfies every scope up to its own. An empty setting turns
authorization off (development only) and ``install_api_keys`` logs a warning saying so, at start.
Keys are compared in constant time, and no message ever echoes a key or part of one.

Usage::

    install_api_keys(app, settings.api_keys, "promotion engine")
    router = APIRouter(dependencies=[Depends(require_scope("read"))])
    @router.post("/things", dependencies=[Depends(require_scope("write"))])
    def handler(caller: Caller = Depends(require_scope("admin"))): ...   # caller.key_id names the key for audits

A missing or unknown key answers 401, a known key with too small a scope 403.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from dataclasses import dataclass
from enum import IntEnum

from fastapi import FastAPI, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

log = logging.getLogger(__name__)

HEADER = "X-API-Key"
_CHALLENGE = {"WWW-Authenticate": f'ApiKey header="{HEADER}"'}
_header_scheme = APIKeyHeader(
    name=HEADER, auto_error=False, description="API key from SHELFCAST_API_KEYS; scopes read < write < admin"
)


class Scope(IntEnum):
    """What a key may do; a higher scope includes the lower ones."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown API key scope '{text.strip()}' (use read, write or admin)") from None


@functools.lru_cache(maxsize=64)  # called on every authorized request; only configured keys get here
def key_id(key: str) -> str:
    """A stable name for a key that is safe to store and log (audits): a short SHA-256 fingerprint, not the key."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Caller:
    """Who made a request: the key's scope and fingerprint (``key_id`` is ``None`` when authorization is off)."""

    scope: Scope
    key_id: str | None

    @property
    def actor(self) -> str:
        """What an audit record names as the actor."""
        return self.key_id or "unauthenticated (SHELFCAST_API_KEYS empty)"


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys; ``enabled`` is false when none are configured (auth off)."""

    scopes: dict[str, Scope]

    @property
    def enabled(self) -> bool:
        return bool(self.scopes)

    @classmethod
    def parse(cls, text: str) -> ApiKeys:
        """Read ``"key:scope,key:scope"``; a malformed entry raises ``ValueError`` so a bad deployment fails at
        start."""
        scopes: dict[str, Scope] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            key, sep, scope = entry.rpartition(":")
            if not sep or not key.strip():  # never echo the entry: it may be a secret
                raise ValueError(
                    "API keys must be comma-separated key:scope pairs (e.g. 'k1:read,k2:admin'); found an entry "
                    "without a scope"
                )
            scopes[key.strip()] = Scope.parse(scope)
        return cls(scopes)

    def scope_of(self, presented: str) -> Scope | None:
        """The scope of a presented key; every configured key is compared, in constant time."""
        found: Scope | None = None
        for key, scope in self.scopes.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                found = scope
        return found


def install_api_keys(app: FastAPI, text: str, service: str) -> ApiKeys:
    """Parse the key table onto ``app.state.api_keys``; warn when authorization is off."""
    keys = ApiKeys.parse(text)
    app.state.api_keys = keys
    if not keys.enabled:
        log.warning(
            "SHELFCAST_API_KEYS is empty: the %s accepts requests WITHOUT authentication (development only)", service
        )
    return keys


class ScopeCheck:
    """The dependency ``require_scope`` returns (FastAPI's parameterized-dependency shape: a callable instance).

    ``authorize`` is the check itself, callable without FastAPI's dependency solving: the promotion
    engine's hot route (``LeanRoute``) runs it directly."""

    def __init__(self, wanted: Scope) -> None:
        self.wanted = wanted

    async def __call__(self, request: Request, api_key: str | None = Security(_header_scheme)) -> Caller:
        # async though it never awaits: FastAPI runs a plain ``def`` dependency on a worker thread, and that hop
        # (queue, notify, thread switch) measured ~8 % of the promotion engine's request loop under load
        return self.authorize(request, api_key)

    def authorize(self, request: Request, api_key: str | None) -> Caller:
        """The caller of a request presenting ``api_key``; 401 for a missing or unknown key, 403 for too small a
        scope."""
        keys: ApiKeys = getattr(request.app.state, "api_keys", ApiKeys({}))
        if not keys.enabled:
            return Caller(Scope.ADMIN, None)
        if not api_key:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {HEADER} header", headers=_CHALLENGE)
        scope = keys.scope_of(api_key)
        if scope is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers=_CHALLENGE)
        if scope < self.wanted:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this API key has scope '{scope.name.lower()}'; '{self.wanted.name.lower()}' is required",
            )
        return Caller(scope, key_id(api_key))


def require_scope(needed: str | Scope) -> ScopeCheck:
    """A dependency admitting requests whose ``X-API-Key`` has at least scope ``needed``; returns the ``Caller``."""
    return ScopeCheck(needed if isinstance(needed, Scope) else Scope.parse(needed))


require_read = require_scope(Scope.READ)
require_write = require_scope(Scope.WRITE)
require_admin = require_scope(Scope.ADMIN)
