"""The package keeps its layers: core/ is the ground floor, only llm/ imports LangChain, routes stay HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((APP / folder).rglob("*.py"))


def test_core_imports_nothing_above_it() -> None:
    for path in modules("core"):
        above = {name for name in imports_of(path) if name.startswith("app.") and not name.startswith("app.core")}
        assert not above, f"{path.relative_to(APP)} imports {sorted(above)}"


def test_only_the_llm_package_imports_langchain() -> None:
    for path in APP.rglob("*.py"):
        if path.is_relative_to(APP / "llm"):
            continue
        langchain = {name for name in imports_of(path) if name.split(".")[0].startswith("langchain")}
        assert not langchain, f"{path.relative_to(APP)} imports {sorted(langchain)}"


def test_routes_do_not_reach_into_the_llm_layer() -> None:
    for path in modules("api"):
        llm = {name for name in imports_of(path) if name == "app.llm" or name.startswith("app.llm.")}
        assert not llm, f"{path.relative_to(APP)} imports {sorted(llm)}"


def test_services_know_no_http() -> None:
    for path in modules("services"):
        http = {
            name for name in imports_of(path) if name.split(".")[0] in ("fastapi", "starlette") or name == "app.api"
        }
        assert not http, f"{path.relative_to(APP)} imports {sorted(http)}"
