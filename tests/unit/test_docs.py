"""The README and docs/ stay true to the repository: links resolve, the generated pages are
what the code generates now, and the paths and make targets they name exist."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

# Named by the docs for issue 15's restructure, which lands next to them: drop a name here
# once it exists (the test then checks it like every other path).

_LINK = re.compile(r"!?\[(?:[^\]]|\n)*?\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```.*?```", re.S)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_MAKE = re.compile(r"\bmake ([a-z][\w-]*)")


def _script(name: str) -> ModuleType:
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _slug(heading: str) -> str:
    """The anchor GitHub and MkDocs give a heading (for the plain headings used here)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"\s+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.+)$", text, re.M)}


def test_every_readme_link_resolves():
    text = README.read_text(encoding="utf-8")
    links = [m.group(1) for m in _LINK.finditer(_FENCE.sub("", text))]
    assert links, "the README links nowhere"
    broken = []
    for link in links:
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        target, _, anchor = link.partition("#")
        path = (README.parent / target) if target else README
        stale_anchor = anchor and path.suffix == ".md" and anchor not in _anchors(path)
        if not path.exists() or stale_anchor:
            broken.append(link)
    assert not broken, f"README.md links to what does not exist: {broken}"


def test_the_configuration_page_is_generated_from_the_code():
    generator = _script("gen_config_docs")
    committed = generator.OUTPUT.read_text(encoding="utf-8")
    assert committed == generator.render(), (
        "docs/configuration.md is stale (Settings or Pulumi.yaml changed): run `make docs-config`"
    )


def test_the_configuration_generator_imports_no_infra():
    script = str(ROOT / "scripts" / "gen_config_docs.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('g', {script!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "module.render()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('infra', 'pulumi',"
        " 'pulumi_aws', 'pulumi_azure_native', 'pulumi_gcp', 'boto3', 'mlflow')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_every_setting_and_stack_key_is_on_the_configuration_page():
    from app.settings import Settings

    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`MLOPS_{name.upper()}`" in page
    import yaml

    for key in yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]:
        assert f"`{key}`" in page


def test_the_architecture_diagram_is_rendered_from_its_source():
    renderer = _script("render_diagram")
    assert list(renderer.DIAGRAMS.glob("*.dot")), "no diagram source in docs/diagrams"
    assert renderer.stale() == [], (
        f"docs/diagrams: the SVG of {renderer.stale()} was not rendered from the current"
        " .dot source: run `make docs-diagram`"
    )


def _named_paths(text: str) -> set[str]:
    """Repository paths a page names in code: `app/ports.py`, `tests/events/gcp/`..."""
    local_only = {".git", ".venv", ".mlops", ".tools", "build"}  # never in a clone
    tops = {p.name for p in ROOT.iterdir() if p.name not in local_only}
    spans = _CODE_SPAN.findall(_FENCE.sub("", text))
    paths = set()
    for span in spans:
        for token in re.split(r"[\s,()]+", span):
            token = token.rstrip("/.:;")
            if not token or any(c in token for c in "<>*{}$=") or token.startswith("/"):
                continue
            head = token.split("/")[0]
            if "/" in token and head in tops:
                paths.add(token)
            elif token in tops and "." in token and not token.startswith("."):
                paths.add(token)  # a root file: Makefile-less names like Pulumi.yaml
    return paths


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_paths_a_page_names_exist(page):
    named = _named_paths(page.read_text(encoding="utf-8"))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_make_targets_a_page_names_exist(page):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    text = page.read_text(encoding="utf-8")
    code = "\n".join(_FENCE.findall(text) + _CODE_SPAN.findall(_FENCE.sub("", text)))
    named = set(_MAKE.findall(code))
    assert named <= targets, (
        f"{page.relative_to(ROOT)} names make targets that do not exist: {sorted(named - targets)}"
    )
