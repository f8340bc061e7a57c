"""The package's layers, checked over every module (issue 7, items 5 and 8): no import circles, and only the
Dagster glue imports Dagster; nothing imports litellm at module level except the provider modules."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import eval_assets

PACKAGE_DIR = Path(eval_assets.__file__).resolve().parent
#: The Dagster glue and wiring: the only modules that may import dagster.
GLUE = ("eval_assets.assets", "eval_assets.automation", "eval_assets.announcing", "eval_assets.definitions",
        "eval_assets.resources", "eval_assets.running")  # fmt: skip
#: Modules that import litellm when imported (it takes seconds): only the provider's own.
LITELLM = ("eval_assets.llm.litellm_provider", "eval_assets.llm.offline_setup")


def all_modules() -> list[str]:
    return sorted(
        name for _, name, _ in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="eval_assets.") if "__" not in name
    )


def is_entry(module: str) -> bool:
    """The CLI: the top layer, which may reach the wiring (it runs Dagster in-process)."""
    return module == "eval_assets.cli" or module.startswith("eval_assets.cli.")


def is_glue(module: str) -> bool:
    return any(module == g or module.startswith(g + ".") for g in GLUE)


def test_only_the_glue_imports_dagster_and_only_providers_import_litellm() -> None:
    pure = [m for m in all_modules() if not is_glue(m) and m not in LITELLM and not is_entry(m)]
    assert len(pure) > 40  # the walk found the package
    # One process imports them all; a failure names the modules that pulled the orchestrator in.
    code = (
        "import importlib, sys\n"
        f"for name in {pure!r}:\n"
        "    importlib.import_module(name)\n"
        "    bad = [m for m in ('dagster', 'litellm') if m in sys.modules]\n"
        "    assert not bad, f'{name} imports {bad}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def _imports(path: Path, module: str) -> set[str]:
    """eval_assets modules imported anywhere in a file (lazy imports too), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("eval_assets")}


def import_graph() -> dict[str, set[str]]:
    modules = set(all_modules())
    graph: dict[str, set[str]] = {}
    for module in modules:
        relative = module.removeprefix("eval_assets").lstrip(".").replace(".", "/")
        path = PACKAGE_DIR / f"{relative}.py"
        if not path.exists():
            path = PACKAGE_DIR / relative / "__init__.py"
        graph[module] = {name for name in _imports(path, module) if name in modules and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    # A package __init__ that re-exports its modules is not a circle with them: modules import siblings, not it.
    graph = {
        m: {t for t in targets if not (m.startswith(t + ".") and t in PACKAGES)}
        for m, targets in import_graph().items()
    }
    assert cycles(graph) == []


def test_pure_modules_never_import_the_glue() -> None:
    wrong = {m: sorted(t for t in targets if is_glue(t)) for m, targets in import_graph().items() if not is_glue(m)}
    assert {m: t for m, t in wrong.items() if t and not is_entry(m)} == {}


PACKAGES = {
    m
    for m in all_modules()
    if (PACKAGE_DIR / m.removeprefix("eval_assets.").replace(".", "/") / "__init__.py").exists()
}


def test_no_sql_outside_the_warehouse_package() -> None:
    # The warehouse owns every query (issue 7, item 1): the issue's own check, kept.
    sql = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE)\b")
    found = [
        f"{path.relative_to(PACKAGE_DIR)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if "warehouse" not in path.relative_to(PACKAGE_DIR).parts[:1]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if sql.search(line)
    ]
    assert found == []


#: The most lines a module may have: small enough to read in one sitting (issue 7, item 6).
MAX_MODULE_LINES = 450


def test_no_module_is_too_long_to_read() -> None:
    lengths = {
        path.relative_to(PACKAGE_DIR.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
    }
    assert len(lengths) > 40  # the walk found the package
    too_long = {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES}
    assert too_long == {}
