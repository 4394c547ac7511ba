"""The layout's rules, checked on the import statements: runtime services import only ``services.common``
(and themselves), and the model cores import no HTTP, Kafka or MongoDB library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent.parent / "services"
RUNTIME = ("data_generator", "data_consumer", "forecast_service", "promotion_engine", "dashboard")
CORES = ("forecast_service/model", "promotion_engine/uplift")
INFRASTRUCTURE = ("fastapi", "starlette", "uvicorn", "kafka", "confluent_kafka", "pymongo", "bson", "dash", "flask")


def imported_modules(folder: Path) -> list[tuple[str, str]]:
    """(file, module) for every import in the folder's Python files, relative imports resolved."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        package = ".".join(path.relative_to(SERVICES.parent).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(SERVICES)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                found += [(str(path.relative_to(SERVICES)), f"{base}.{alias.name}") for alias in node.names]
    return found


@pytest.mark.parametrize("service", RUNTIME)
def test_a_runtime_service_imports_only_common_and_itself(service: str) -> None:
    allowed = ("services.common", f"services.{service}")
    crossing = [
        (f, m)
        for f, m in imported_modules(SERVICES / service)
        if m.startswith("services") and not m.startswith(allowed)
    ]
    assert crossing == []


@pytest.mark.parametrize("core", CORES)
def test_model_cores_know_no_server_bus_or_store(core: str) -> None:
    leaks = [(f, m) for f, m in imported_modules(SERVICES / core) if m.split(".")[0] in INFRASTRUCTURE]
    assert leaks == []


def test_the_walker_sees_imports_across_services() -> None:
    """Benchmarks may import any service: the walker must see those imports, or the rules above prove nothing."""
    modules = {m for _, m in imported_modules(SERVICES / "benchmarks")}
    assert "services.data_generator.simulator.ShopSimulator" in modules
    assert ("dashboard/data.py", "services.common.read_models") in imported_modules(SERVICES / "dashboard")
