"""The monitoring files (ops/) name the app's metrics, and Prometheus' own tooling accepts
them; a query Prometheus cannot parse fails the check."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ops.check import DASHBOARD, metric_names, referenced_metrics

CHECK = Path(__file__).resolve().parents[2] / "ops" / "check.py"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not on PATH (make check-ops installs it)"
)

EXPECTED = {
    "http_requests_total",
    "http_request_duration_highr_seconds_bucket",
    "http_request_duration_seconds_bucket",
    "mlops_predictions_total",
    "mlops_prediction_confidence_mean",
    "mlops_prediction_confidence_bucket",
    "mlops_feedback_rolling_accuracy",
    "mlops_feedback_rolling_labels",
    "mlops_retrain_accuracy_threshold",
    "mlops_retrain_min_labels",
    "mlops_feedback_total",
    "mlops_drift_psi",
    "mlops_model_info",
    "mlops_model_swaps_total",
    "mlops_documents_processed_total",
    "mlops_training_jobs_started_total",
}


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_referenced_metrics_finds_the_metric_names_as_written():
    assert EXPECTED - referenced_metrics() == set()


def test_referenced_metrics_leaves_out_promql_words_labels_and_numbers():
    names = referenced_metrics()
    words = {"rate", "increase", "sum", "max", "by", "on", "and", "or", "group_left"}
    words |= {"histogram_quantile", "absent", "vector", "offset", "bool"}
    labels = {"le", "handler", "method", "status", "model_version", "feature", "reason"}
    assert not names & (words | labels)
    # Everything left is one of the app's or the instrumentator's metrics.
    assert all(name.startswith(("mlops_", "http_")) for name in names), sorted(names)


def test_metric_names_on_a_tricky_expression():
    expr = (
        'sum by (le) (rate(foo_bucket{handler="/v1/predict", le=~"0.5|1e3"}[$__rate_interval]))'
        " / on() group_left() bar offset 5m > bool 1e3 and ignoring (x) max(baz) without (y)"
        ' or label_replace(qux, "dst", "$1", "src", "(.*)") unless absent(quux == Inf)'
    )
    assert metric_names(expr) == {"foo_bucket", "bar", "baz", "qux", "quux"}


def test_check_without_promtool_says_how_to_get_it(tmp_path: Path):
    result = run_check(env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 2
    assert "make check-ops" in result.stderr


@needs_promtool
def test_check_passes_on_the_repository_files():
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "queries parsed by promtool" in result.stdout


@needs_promtool
def test_check_fails_on_a_dashboard_query_prometheus_cannot_parse(tmp_path: Path):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panel = next(p for p in dashboard["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = "sum(rate(http_requests_total[$__rate_interval])"
    broken = tmp_path / "dashboard.json"
    broken.write_text(json.dumps(dashboard), encoding="utf-8")

    result = run_check("--dashboard", str(broken))

    assert result.returncode == 1
    assert f"dashboard:panel_{panel['id']}:" in result.stderr
    assert "parse error" in result.stderr
