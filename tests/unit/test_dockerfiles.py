"""Static checks of docker/*.Dockerfile (no Docker engine needed).

Each rule is a function that returns the problems it finds, so the same rules run on the
repo's Dockerfiles and on small bad samples that must fail them.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

# python:<major>.<minor>-slim, optionally a Debian release: pinned by minor version.
SLIM_BASE = re.compile(r"^python:3\.\d+(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
BUILD_TOOLS = re.compile(
    r"^(gcc|g\+\+|cpp|clang|make|cmake|build-essential|autoconf|automake|libtool|pkg-config"
    r"|[\w.+-]+-dev)(=.*)?$"
)
EXTRAS = re.compile(r"""\.\[([\w,-]+)\]""")
# The Azure Functions host image: a platform base that exists only as such, pinned by Python
# minor like python:3.<minor>-slim.
FUNCTIONS_BASE = re.compile(
    r"^mcr\.microsoft\.com/azure-functions/python:4-python3\.\d+(@sha256:[0-9a-f]{64})?$"
)


# --- parsing ------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str] | None:
        try:
            parsed = json.loads(self.value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    stages: list[Stage]
    comments: list[str]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def parse(text: str) -> Dockerfile:
    """Instructions by stage, with line continuations joined and comments set apart."""
    stages: list[Stage] = []
    comments: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line.lstrip("# "))
            continue
        if not line and not pending:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, value = line.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            parts = value.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            if keyword != "ARG":
                raise ValueError(f"{keyword} before the first FROM")
        else:
            stages[-1].instructions.append(Instruction(keyword, value))
    return Dockerfile(stages, comments)


def copy_sources(instruction: Instruction) -> tuple[str | None, list[str]]:
    """(--from stage or None, sources) of a COPY/ADD."""
    words = instruction.exec_form() or shlex.split(instruction.value)
    origin = None
    args = []
    for word in words:
        if word.startswith("--from="):
            origin = word.removeprefix("--from=")
        elif not word.startswith("--"):
            args.append(word)
    return origin, args[:-1]


def apt_packages(command: str) -> list[str]:
    """Packages named by every `apt-get install` / `apt install` of a RUN command."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&"):
            commands.append([])
        else:
            commands[-1].append(token)
    packages: list[str] = []
    for words in commands:
        if words[:1] in (["apt-get"], ["apt"]) and "install" in words:
            packages += [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
    return packages


# --- .dockerignore ------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match syntax plus ``**``, as Docker reads .dockerignore."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body) + "]"
            i = end + 1
        else:
            c = pattern[i]
            out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
    return re.compile(f"^{out}$")


@dataclass(frozen=True)
class DockerIgnore:
    """Docker's rules: the last matching pattern wins, ``!`` re-includes, and a pattern that
    matches a directory matches everything under it."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...]

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        rules = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = line.lstrip("!").strip().strip("/")
            rules.append((include, _pattern_regex(pattern)))
        return cls(tuple(rules))

    def excluded(self, path: str) -> bool:
        parts = Path(path).parts
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for include, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                excluded = not include
        return excluded


# --- rules: each returns the problems it finds ------------------------------------------


def base_problems(df: Dockerfile) -> list[str]:
    names = {s.name for s in df.stages if s.name}
    return [
        f"FROM {s.base}: use a python:3.<minor>-slim base pinned by minor version"
        for s in df.stages
        if s.base not in names and not (SLIM_BASE.match(s.base) or FUNCTIONS_BASE.match(s.base))
    ]


def multistage_problems(df: Dockerfile) -> list[str]:
    if len(df.stages) < 2:
        return ["single stage: build in a builder stage, copy the result into the final one"]
    problems = []
    final = df.final
    earlier = {s.name for s in df.stages[:-1]}
    if final.base in earlier:
        problems.append(f"the final stage starts FROM {final.base}, inheriting its build tools")
    if not any(copy_sources(c)[0] in earlier for c in final.all("COPY")):
        problems.append("the final stage copies nothing from the builder stage")
    for run in final.all("RUN"):
        tools = [p for p in apt_packages(run.value) if BUILD_TOOLS.match(p)]
        if tools:
            problems.append(f"build tools in the final stage: {', '.join(tools)}")
    return problems


def apt_problems(df: Dockerfile) -> list[str]:
    problems = []
    for stage in df.stages:
        for run in stage.all("RUN"):
            if not apt_packages(run.value):
                continue
            if "--no-install-recommends" not in run.value:
                problems.append(f"apt-get install without --no-install-recommends: {run.value}")
            if "rm -rf /var/lib/apt/lists" not in run.value:
                problems.append(f"apt lists left in the layer: {run.value}")
    return problems


def user_problems(df: Dockerfile) -> list[str]:
    user = df.final.last("USER")
    if user is None:
        # The Functions host runs as root only; its image must say so and why.
        noted = any(re.match(r"Runs as root: \w+ \w+", c) for c in df.comments)
        if FUNCTIONS_BASE.match(df.final.base) and noted:
            return []
        return ["the final stage runs as root: add a USER"]
    name = user.value.split(":")[0]
    if name in ("root", "0"):
        return [f"USER {user.value}: the final stage must run as a non-root user"]
    return []


def copy_problems(df: Dockerfile, repo: Path, ignore: DockerIgnore) -> list[str]:
    problems = []
    for stage in df.stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            origin, sources = copy_sources(instruction)
            if origin is not None:
                continue
            for source in sources:
                path = repo / source
                if not path.exists():
                    problems.append(f"COPY {source}: not in the repo")
                elif ignore.excluded(source):
                    problems.append(f"COPY {source}: excluded by .dockerignore")
                elif path.is_dir() and not any(
                    f.is_file() and not ignore.excluded(str(f.relative_to(repo)))
                    for f in path.rglob("*")
                ):
                    problems.append(f"COPY {source}: .dockerignore leaves nothing in it")
    return problems


def extras_problems(df: Dockerfile, pyproject: dict) -> list[str]:
    known = set(pyproject["project"].get("optional-dependencies", {}))
    named = {
        extra
        for stage in df.stages
        for run in stage.all("RUN")
        for group in EXTRAS.findall(run.value)
        for extra in group.split(",")
    }
    return [f"pip extra [{extra}] is not in pyproject.toml" for extra in sorted(named - known)]


def healthcheck_problems(df: Dockerfile) -> list[str]:
    """A HEALTHCHECK, or a note saying why there is none (``# No HEALTHCHECK: <reason>``)."""
    noted = any(re.match(r"No HEALTHCHECK: \w+ \w+", c) for c in df.comments)
    if df.final.last("HEALTHCHECK") or noted:
        return []
    return ["no HEALTHCHECK in the final stage and no '# No HEALTHCHECK: <reason>' note"]


def handler_problems(handlers: list[str], repo: Path) -> list[str]:
    """Lambda handlers (``package.module.function``): the file exists and the name imports."""
    problems = []
    for dotted in handlers:
        module, _, attr = dotted.rpartition(".")
        path = repo / Path(*module.split("."))
        if not (path.with_suffix(".py").exists() or (path / "__init__.py").exists()):
            problems.append(f"handler {dotted}: no {path.relative_to(repo)}.py")
            continue
        try:
            target = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            problems.append(f"handler {dotted}: {type(exc).__name__}: {exc}")
            continue
        if not callable(target):
            problems.append(f"handler {dotted} is not callable")
    return problems


def lambda_handlers(df: Dockerfile) -> list[str]:
    """Handlers the image runs: its CMD under the awslambdaric entry point, and those its
    ``io.mlops.lambda-handlers`` label names (functions that override the command)."""
    found: list[str] = []
    entrypoint = df.final.last("ENTRYPOINT")
    cmd = df.final.last("CMD")
    if entrypoint and entrypoint.exec_form() == ["python", "-m", "awslambdaric"] and cmd:
        found += cmd.exec_form() or []
    for label in df.final.all("LABEL"):
        for word in shlex.split(label.value):
            key, _, value = word.partition("=")
            if key == "io.mlops.lambda-handlers":
                found += value.split()
    return found


def env(df: Dockerfile) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in df.final.all("ENV"):
        for word in shlex.split(instruction.value):
            key, _, value = word.partition("=")
            values[key] = value
    return values


def all_problems(df: Dockerfile, repo: Path = REPO, pyproject: dict = PYPROJECT) -> list[str]:
    ignore = DockerIgnore.parse((repo / ".dockerignore").read_text())
    return [
        *base_problems(df),
        *multistage_problems(df),
        *apt_problems(df),
        *user_problems(df),
        *copy_problems(df, repo, ignore),
        *extras_problems(df, pyproject),
        *healthcheck_problems(df),
        *handler_problems(lambda_handlers(df), repo),
    ]


# --- the repo's Dockerfiles ---------------------------------------------------------------

IMAGES = ["app", "ocr", "azure-function", "gcp-ocr"]
LAMBDA_IMAGES = ["app", "ocr"]


def dockerfile(image: str) -> Dockerfile:
    return parse((REPO / "docker" / f"{image}.Dockerfile").read_text())


@pytest.mark.parametrize("image", IMAGES)
def test_the_dockerfile_passes_every_rule(image):
    assert all_problems(dockerfile(image)) == []


@pytest.mark.parametrize("image", LAMBDA_IMAGES)
def test_both_lambda_images_install_the_lambda_runtime_client(image):
    runs = " ".join(r.value for s in dockerfile(image).stages for r in s.all("RUN"))
    assert "awslambdaric" in runs


def test_the_app_image_serves_by_default_and_names_its_lambda_handlers():
    df = dockerfile("app")
    assert df.final.last("CMD").exec_form() == ["mlops", "serve"]
    assert PYPROJECT["project"]["scripts"]["mlops"] == "app.cli:main"
    assert env(df)["MLOPS_HOST"] == "0.0.0.0"
    assert "app.lambda_handler.handler" in lambda_handlers(df)
    assert {"aws", "mlflow-server"} <= set(EXTRAS.findall(_runs(df))[0].split(","))


def test_the_ocr_image_is_a_lambda_of_the_sqs_handler():
    df = dockerfile("ocr")
    assert df.final.last("ENTRYPOINT").exec_form() == ["python", "-m", "awslambdaric"]
    assert lambda_handlers(df) == ["functions.aws.handler.handler"]
    assert (REPO / "functions" / "aws" / "handler.py").exists()
    assert env(df)["OMP_THREAD_LIMIT"] == "1"
    assert env(df)["MLOPS_DATA_DIR"] == "/tmp/mlops"
    packages = [p for r in df.final.all("RUN") for p in apt_packages(r.value)]
    assert {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-fra"} <= set(packages)


def test_the_azure_function_image_runs_the_v2_app_with_tesseract():
    df = dockerfile("azure-function")
    assert FUNCTIONS_BASE.match(df.final.base)
    assert df.stages[0].base == df.final.base  # wheels built for exactly its Python and glibc
    e = env(df)
    assert e["AzureWebJobsScriptRoot"] == "/home/site/wwwroot"
    assert e["AzureFunctionsJobHost__Logging__Console__IsEnabled"] == "true"
    assert e["OMP_THREAD_LIMIT"] == "1"
    copies = [copy_sources(c) for c in df.final.all("COPY")]
    assert (None, ["functions/azure/function_app.py", "functions/azure/host.json"]) in copies
    minor = re.search(r"python(3\.\d+)", df.final.base).group(1)
    assert any(  # where the worker of the base's Python looks for packages
        f"/opt/venv/lib/python{minor}/site-packages"
        " /home/site/wwwroot/.python_packages/lib/site-packages" in c.value
        for c in df.final.all("COPY")
    )
    packages = {p for r in df.final.all("RUN") for p in apt_packages(r.value)}
    assert {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-fra"} <= packages
    assert "azure" in EXTRAS.findall(_runs(df))[0].split(",")


def test_the_function_host_json_is_a_v4_host_with_a_timeout():
    from infra.azure.config import function_timeout_seconds

    host = json.loads((REPO / "functions" / "azure" / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert function_timeout_seconds() == 600  # the lease the program sets is derived from it


def test_the_gcp_ocr_image_serves_the_cloudevent_function():
    df = dockerfile("gcp-ocr")
    command = df.final.last("CMD").exec_form()
    assert command[0] == "functions-framework"
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in command[1:])
    assert flags == {
        "target": "on_object_finalized",
        "source": "functions/gcp/main.py",
        "signature-type": "cloudevent",
    }
    copies = [copy_sources(c) for c in df.final.all("COPY")]
    assert (None, [flags["source"]]) in copies
    import functions.gcp.main as main

    assert callable(getattr(main, flags["target"]))
    assert env(df)["OMP_THREAD_LIMIT"] == "1"
    packages = {p for r in df.final.all("RUN") for p in apt_packages(r.value)}
    assert {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-fra"} <= packages
    assert EXTRAS.findall(_runs(df)) == ["gcp"]
    assert "awslambdaric" not in _runs(df)


def _runs(df: Dockerfile) -> str:
    return " ".join(r.value for s in df.stages for r in s.all("RUN"))


# --- the rules fail on bad samples -------------------------------------------------------

GOOD = """\
# No HEALTHCHECK: a sample image.
FROM python:3.12-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc \\
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install ".[aws]"
FROM python:3.12-slim
COPY --from=builder /opt/venv /opt/venv
USER 10001
CMD ["mlops", "serve"]
"""


def test_the_good_sample_passes():
    assert all_problems(parse(GOOD)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("USER 10001", "USER root"), "non-root"),
        (("USER 10001", "USER 0:0"), "non-root"),
        (("USER 10001\n", ""), "add a USER"),
        (("FROM python:3.12-slim\n", "FROM python:3-slim\n"), "pinned by minor"),
        (("FROM python:3.12-slim\n", "FROM python:latest\n"), "pinned by minor"),
        (("FROM python:3.12-slim AS", "FROM python:3.12 AS"), "pinned by minor"),
        (("FROM python:3.12-slim\n", "FROM builder\n"), "inheriting its build tools"),
        (("--from=builder /opt/venv", "--from=elsewhere /opt/venv"), "copies nothing"),
        (
            (
                "USER 10001",
                "RUN apt-get install -y --no-install-recommends build-essential"
                " && rm -rf /var/lib/apt/lists/*\nUSER 10001",
            ),
            "build tools in the final stage",
        ),
        (
            (
                "USER 10001",
                "RUN apt-get install -y --no-install-recommends libpq-dev"
                " && rm -rf /var/lib/apt/lists/*\nUSER 10001",
            ),
            "build tools in the final stage",
        ),
        (("-y --no-install-recommends gcc", "-y gcc"), "--no-install-recommends"),
        (("\\\n    && rm -rf /var/lib/apt/lists/*", ""), "apt lists left"),
        (("COPY app ./app", "COPY nowhere ./nowhere"), "COPY nowhere: not in the repo"),
        (("COPY app ./app", "COPY tests ./tests"), "COPY tests: excluded by .dockerignore"),
        ((".[aws]", ".[aws,gpu]"), "[gpu] is not in pyproject"),
        (("# No HEALTHCHECK: a sample image.\n", ""), "no HEALTHCHECK"),
        (("# No HEALTHCHECK: a sample image.", "# TODO HEALTHCHECK"), "no HEALTHCHECK"),
        (
            ("FROM python:3.12-slim\n", "FROM mcr.microsoft.com/azure-functions/python:4\n"),
            "pinned by minor",
        ),
        (  # root on the Functions base, without saying why
            (
                "FROM python:3.12-slim\nCOPY --from=builder /opt/venv /opt/venv\nUSER 10001\n",
                "FROM mcr.microsoft.com/azure-functions/python:4-python3.11\n"
                "COPY --from=builder /opt/venv /opt/venv\n",
            ),
            "add a USER",
        ),
        (("USER 10001\n", "# Runs as root: it must.\n"), "add a USER"),  # not that base
    ],
)
def test_a_bad_sample_fails(change, expected):
    old, new = change
    assert old in GOOD
    problems = all_problems(parse(GOOD.replace(old, new, 1)))
    assert any(expected in p for p in problems), problems


def test_single_stage_fails():
    sample = 'FROM python:3.12-slim\nUSER 10001\nHEALTHCHECK CMD ["true"]\n'
    assert any("single stage" in p for p in all_problems(parse(sample)))


def test_a_missing_or_broken_lambda_handler_fails():
    entry = 'ENTRYPOINT ["python", "-m", "awslambdaric"]\n'
    missing = parse(GOOD + entry + 'CMD ["functions.nowhere.handler"]\n')
    assert any("no functions/nowhere.py" in p for p in all_problems(missing))
    no_attr = parse(GOOD + entry + 'CMD ["app.lambda_handler.no_such_handler"]\n')
    assert any("AttributeError" in p for p in all_problems(no_attr))


def test_dockerignore_follows_docker_rules():
    ignore = DockerIgnore.parse("*\n!app/\n!README.md\n**/__pycache__\n**/*.py[cod]\n")
    assert not ignore.excluded("app")
    assert not ignore.excluded("app/api/main.py")
    assert not ignore.excluded("README.md")
    assert ignore.excluded("tests/unit/test_x.py")
    assert ignore.excluded(".venv")
    assert ignore.excluded("app/__pycache__/x.cpython-312.pyc")
    assert ignore.excluded("app/x.pyc")


def test_the_repo_dockerignore_keeps_the_package_and_drops_the_rest():
    ignore = DockerIgnore.parse((REPO / ".dockerignore").read_text())
    for kept in ("pyproject.toml", "README.md", "app/lambda_handler.py", "functions/__init__.py"):
        assert not ignore.excluded(kept), kept
    for dropped in (".venv", ".git", ".mlops", "tests", "infra", "build", "bench"):
        assert ignore.excluded(dropped), dropped
