"""Checks the monitoring files with Prometheus' own tooling: the alert rules and their unit
tests through promtool, the Prometheus config, and the Grafana dashboard's structure and
PromQL (each query is handed to promtool as a recording rule, so Prometheus' parser judges
it, not a regex).

    python ops/check.py [--dashboard PATH] [--rules PATH] [--rule-tests PATH] [--config PATH]

Exit status: 0 all good, 1 a check failed, 2 promtool is not installed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

OPS = Path(__file__).resolve().parent
DASHBOARD = OPS / "grafana" / "mlops-dashboard.json"
RULES = OPS / "prometheus" / "alerts.yml"
RULE_TESTS = OPS / "prometheus" / "alerts.test.yml"
PROMETHEUS_CONFIG = OPS / "prometheus" / "prometheus.yml"

DASHBOARD_KEYS = ("uid", "title", "schemaVersion", "panels", "templating", "time")
ALERT_ANNOTATIONS = ("summary", "description")

# Grafana's interval variables stand for durations (or their length in s/ms) in PromQL.
_GRAFANA_DURATIONS = {
    "__rate_interval_ms": "300000",
    "__rate_interval": "5m",
    "__interval_ms": "300000",
    "__interval": "5m",
    "__range_ms": "300000",
    "__range_s": "300",
    "__range": "5m",
}
_GRAFANA_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')

# What is left once strings, label matchers, label lists and ranges are gone, and that is
# not a metric name. Functions and aggregations are recognised by the "(" that follows.
_KEYWORDS = frozenset(
    {"and", "or", "unless", "atan2", "bool", "offset", "inf", "nan", "start", "end"}
    | {"by", "without", "on", "ignoring", "group_left", "group_right"}
)
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:$])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()")


class CheckError(Exception):
    """A check failed; the message says which and why."""


# --- reading the files ---------------------------------------------------------------


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    try:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(dashboard, dict):
        raise CheckError(f"{path}: the dashboard must be a JSON object")
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included; a collapsed row holds its panels itself."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    """(panel, refId, expr) of every query of the dashboard."""
    return [
        (panel, str(target.get("refId", "?")), target["expr"])
        for panel in dashboard_panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def load_rule_groups(path: Path = RULES) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(doc.get("groups", []))


def rule_exprs(groups: list[dict[str, Any]]) -> list[str]:
    return [str(rule["expr"]) for group in groups for rule in group.get("rules", [])]


# --- metric names --------------------------------------------------------------------


def metric_names(expr: str) -> set[str]:
    """Metric names as written in a PromQL expression (``foo_bucket`` stays ``foo_bucket``)."""
    expr = _STRING.sub('""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers, and ${grafana} variables
    expr = _LABEL_LIST.sub(" ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries
    return {name for name in _IDENTIFIER.findall(expr) if name.lower() not in _KEYWORDS}


def referenced_metrics(dashboard: Path = DASHBOARD, rules: Path = RULES) -> set[str]:
    """Every metric name the dashboard's queries and the alert rules use, as written."""
    exprs = [expr for _, _, expr in dashboard_exprs(load_dashboard(dashboard))]
    exprs += rule_exprs(load_rule_groups(rules))
    return set().union(*(metric_names(expr) for expr in exprs))


# --- checks --------------------------------------------------------------------------


def check_dashboard(dashboard: dict[str, Any], path: Path) -> list[str]:
    """Structural problems of the dashboard, one line each."""
    problems = [f"missing top-level key {key!r}" for key in DASHBOARD_KEYS if key not in dashboard]
    variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    seen: dict[Any, str] = {}
    for panel in dashboard_panels(dashboard):
        title = panel.get("title", "<untitled>")
        where = f"panel {panel.get('id')} {title!r}"
        if "id" not in panel:
            problems.append(f"panel {title!r} has no id")
        elif panel["id"] in seen:
            problems.append(f"{where}: id already used by {seen[panel['id']]!r}")
        else:
            seen[panel["id"]] = title
        if panel.get("type") == "row":
            continue
        datasource = panel.get("datasource")
        uid = datasource.get("uid", "") if isinstance(datasource, dict) else ""
        if not uid:
            problems.append(f"{where}: no datasource")
        elif uid.startswith("$") and uid.strip("${}") not in variables:
            problems.append(f"{where}: datasource {uid} is not a dashboard variable")
        if not any(target.get("expr") for target in panel.get("targets", [])):
            problems.append(f"{where}: no target with an expr")
    return [f"{path}: {problem}" for problem in problems]


def check_alert_rules(groups: list[dict[str, Any]], path: Path) -> list[str]:
    problems = []
    for group in groups:
        for rule in group.get("rules", []):
            if "alert" not in rule:
                continue
            name = rule["alert"]
            if "for" not in rule:
                problems.append(f"{name}: no `for:`")
            if "severity" not in rule.get("labels", {}):
                problems.append(f"{name}: no severity label")
            annotations = rule.get("annotations", {})
            problems += [
                f"{name}: no {key} annotation"
                for key in ALERT_ANNOTATIONS
                if key not in annotations
            ]
    return [f"{path}: {problem}" for problem in problems]


def check_rule_test_coverage(
    groups: list[dict[str, Any]], tests: dict[str, Any], path: Path
) -> list[str]:
    """Every alert needs a case where it fires and one where it must not."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in tests.get("tests", []):
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = []
    for group in groups:
        for rule in group.get("rules", []):
            name = rule.get("alert")
            if name and name not in firing:
                problems.append(f"no test where {name} fires")
            if name and name not in quiet:
                problems.append(f"no test where {name} stays quiet")
    return [f"{path}: {problem}" for problem in problems]


def promql_for_promtool(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced so that Prometheus can parse it."""

    def in_strings(match: re.Match[str]) -> str:
        # A variable in a label value ({model_version=~"$version"}) may match anything.
        return _GRAFANA_VAR.sub(".*", match.group(0))

    for name, value in _GRAFANA_DURATIONS.items():
        expr = re.sub(rf"\$\{{{name}\}}|\$\b{name}\b", value, expr)
    return _STRING.sub(in_strings, expr)


def record_name(panel: dict[str, Any], ref_id: str) -> str:
    return f"dashboard:panel_{panel.get('id')}:{re.sub(r'[^A-Za-z0-9_]', '_', ref_id)}"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=120, check=False
    )


def run_promtool(*args: str) -> str:
    result = promtool(*args)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise CheckError(f"promtool {' '.join(args)} failed:\n{output}")
    return output


def check_dashboard_promql(
    exprs: list[tuple[dict[str, Any], str, str]], path: Path, workdir: Path
) -> None:
    rules = []
    legend = {}
    for panel, ref_id, expr in exprs:
        name = record_name(panel, ref_id)
        rules.append({"record": name, "expr": promql_for_promtool(expr)})
        legend[name] = f"panel {panel.get('id')} {panel.get('title')!r}, query {ref_id}: {expr}"
    rules_file = workdir / "dashboard-queries.rules.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False),
        encoding="utf-8",
    )
    result = promtool("check", "rules", str(rules_file))
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        culprits = [text for name, text in legend.items() if f'"{name}"' in output]
        raise CheckError(
            f"{path}: Prometheus cannot parse some queries.\n{output}"
            + "".join(f"\n  {text}" for text in culprits)
        )


# --- entry point ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check the alert rules, their tests, the Prometheus config and the dashboard."
    )
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD)
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument(
        "--rule-tests",
        type=Path,
        default=RULE_TESTS,
        help="promtool rule tests; they load the rule files they name, not --rules",
    )
    parser.add_argument("--config", type=Path, default=PROMETHEUS_CONFIG)
    args = parser.parse_args(argv)

    if shutil.which("promtool") is None:
        print(
            "promtool is not on PATH: `make check-ops` installs it "
            "(scripts/install-promtool.sh, Debian package prometheus).",
            file=sys.stderr,
        )
        return 2

    try:
        groups = load_rule_groups(args.rules)
        rule_tests = yaml.safe_load(args.rule_tests.read_text(encoding="utf-8")) or {}
        dashboard = load_dashboard(args.dashboard)
        exprs = dashboard_exprs(dashboard)
        problems = (
            check_alert_rules(groups, args.rules)
            + check_rule_test_coverage(groups, rule_tests, args.rule_tests)
            + check_dashboard(dashboard, args.dashboard)
        )
        if problems:
            raise CheckError("\n".join(problems))
        run_promtool("check", "rules", str(args.rules))
        run_promtool("test", "rules", str(args.rule_tests))
        run_promtool("check", "config", str(args.config))
        with tempfile.TemporaryDirectory(prefix="mlops-ops-check-") as tmp:
            check_dashboard_promql(exprs, args.dashboard, Path(tmp))
    except (CheckError, OSError, yaml.YAMLError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1

    panels = [p for p in dashboard_panels(dashboard) if p.get("type") != "row"]
    alerts = [rule for group in groups for rule in group.get("rules", [])]
    cases = [
        case for test in rule_tests.get("tests", []) for case in test.get("alert_rule_test", [])
    ]
    names = referenced_metrics(args.dashboard, args.rules)
    print(f"alert rules:  {len(alerts)} in {len(groups)} group(s), promtool check rules ok")
    print(
        f"rule tests:   {len(rule_tests.get('tests', []))} tests, {len(cases)} alert evaluations,"
        " promtool test rules ok"
    )
    print(f"config:       {args.config.name}, promtool check config ok")
    print(
        f"dashboard:    {len(panels)} panels, {len(exprs)} queries parsed by promtool,"
        f" {len(names)} metric names referenced with the rules"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
