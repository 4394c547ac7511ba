"""API keys: 401 without or with a wrong key, 403 below the route's scope, open system endpoints."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from services.common.api_auth import ApiKeys, Scope
from tests.forecast_service.fixtures import ADMIN, READ, WRITE


def test_request_without_key_is_refused_with_401(trained_api) -> None:
    response = trained_api.get("/models/active", key=None)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


def test_request_with_unknown_key_is_refused_with_401(trained_api) -> None:
    assert trained_api.get("/predict", key="not-a-key").status_code == 401


def test_read_key_can_read(trained_api) -> None:
    assert trained_api.get("/models/active", key=READ).status_code == 200


def test_read_key_cannot_post_and_gets_403_naming_the_needed_scope(trained_api) -> None:
    response = trained_api.post("/train", key=READ)
    assert response.status_code == 403
    assert "'write'" in response.json()["detail"]


def test_write_key_cannot_activate_a_model_version(trained_api) -> None:
    version = trained_api.get("/models/active").json()["version"]
    assert trained_api.post(f"/models/{version}/activate", key=WRITE).status_code == 403


def test_higher_scope_includes_lower_ones(trained_api) -> None:
    assert trained_api.get("/models", key=ADMIN).status_code == 200
    assert (
        trained_api.post("/what-if", key=ADMIN, json={"sku": "A", "store_id": "s1", "price_change_pct": 5}).status_code
        == 200
    )


@pytest.mark.parametrize("path", ["/health", "/metrics", "/docs", "/openapi.json"])
def test_system_endpoints_are_open_without_a_key(trained_api, path: str) -> None:
    assert trained_api.get(path, key=None).status_code == 200


def test_empty_api_keys_turn_auth_off_with_a_startup_warning(make_api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="services.common.api_auth"):
        api = make_api(settings_update={"api_keys": SecretStr("")})
    assert api.get("/models", key=None).status_code == 200
    assert api.post("/train", key=None).status_code == 409  # reaches the handler: no data, not 401
    assert any("WITHOUT authentication" in r.getMessage() for r in caplog.records)


def test_api_key_setting_parses_scopes_and_rejects_unknown_ones() -> None:
    keys = ApiKeys.parse(" a:read , b:WRITE,c:admin ")
    assert [keys.scope_of(k) for k in ("a", "b", "c", "d")] == [Scope.READ, Scope.WRITE, Scope.ADMIN, None]
    with pytest.raises(ValueError, match="unknown API key scope"):
        ApiKeys.parse("a:superuser")
    with pytest.raises(ValueError, match="key:scope"):
        ApiKeys.parse("just-a-key")
