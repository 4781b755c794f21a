"""How infra/ is laid out: a dispatcher that loads one cloud, no import circles, no app
code, short functions (ARCHITECTURE.md section 5)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PROVIDERS = {"aws": "pulumi_aws", "azure": "pulumi_azure_native", "gcp": "pulumi_gcp"}
LONGEST_FUNCTION = 80  # lines, decorators and docstring included

# Run one example stack under mocks in a fresh interpreter; print the modules it loaded.
_RUN = """
import json, sys, warnings
warnings.simplefilter("ignore")
from tests.infra.urns import urns
urns({name!r})
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("cloud", sorted(PROVIDERS))
def test_a_stack_loads_only_its_own_clouds_modules_and_no_app_code(cloud: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RUN.format(name=f"{cloud}-dev")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert PROVIDERS[cloud] in loaded  # the run did wire the cloud
    others = {PROVIDERS[c] for c in PROVIDERS if c != cloud}
    assert sorted(loaded & others) == []
    other_clouds = {f"infra.{c}" for c in PROVIDERS if c != cloud}
    assert sorted(m for m in loaded if ".".join(m.split(".")[:2]) in other_clouds) == []
    assert sorted(m for m in loaded if m.split(".")[0] in ("app", "functions")) == []


def _modules() -> dict[str, Path]:
    found = {}
    for path in INFRA.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (in functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_infra_imports_no_app_or_functions_code() -> None:
    offenders = {
        name: sorted(i for i in _imports(path) if i.split(".")[0] in ("app", "functions"))
        for name, path in _modules().items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_shared_modules_import_no_cloud() -> None:
    for name in ("infra.config", "infra.checks", "infra.__main__"):
        imported = _imports(_modules()[name])
        clouds = {i for i in imported if i.split(".")[0] in PROVIDERS.values()}
        clouds |= {i for i in imported if i.startswith(tuple(f"infra.{c}" for c in PROVIDERS))}
        assert sorted(clouds) == [], name


def test_infra_has_no_import_circles() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules and i != name}
        for name, path in modules.items()
    }
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert circles == []


def test_no_function_in_infra_is_longer_than_80_lines() -> None:
    long = []
    for path in INFRA.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert sorted(long) == []
