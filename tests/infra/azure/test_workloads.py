"""The app's Container App, the OCR Function and the training job."""

from __future__ import annotations

from infra.azure.config import function_timeout_seconds
from infra.azure.secrets import SecretRef
from infra.azure.training import COMMAND
from infra.azure.workloads import container_env, waits_for
from tests.infra.azure.stacks import default_stack, of, one


def _app():  # type: ignore[no-untyped-def]
    return next(r for r in of(default_stack(), "app:ContainerApp") if r.name == "app-app")


def test_the_app_scales_on_http_with_probes_and_multiple_revisions() -> None:
    app = _app().inputs
    configuration = app["configuration"]
    assert configuration["activeRevisionsMode"] == "Multiple"
    ingress = configuration["ingress"]
    assert ingress["external"] is True and ingress["targetPort"] == 8000
    assert ingress["allowInsecure"] is False
    assert ingress["traffic"] == [{"latestRevision": True, "weight": 100}]
    scale = app["template"]["scale"]
    assert (scale["minReplicas"], scale["maxReplicas"]) == (1, 4)
    (rule,) = scale["rules"]
    assert rule["http"]["metadata"] == {"concurrentRequests": "20"}
    probes = {p["type"]: p for p in app["template"]["containers"][0]["probes"]}
    # /health is 503 until a model is loaded and Container Apps counts only 2xx: a probe
    # on it would keep the first replica (which starts the first training) out of traffic.
    assert set(probes) == {"Startup", "Readiness", "Liveness"}
    for probe in probes.values():
        assert probe["httpGet"] == {"path": "/livez", "port": 8000}


def test_every_probe_is_within_what_container_apps_accepts() -> None:
    # The API's limits (failureThreshold 1-10, initialDelaySeconds 1-60, periodSeconds and
    # timeoutSeconds 1-240): the provider passes any integer and Azure refuses the app.
    limits = {
        "failureThreshold": 10,
        "initialDelaySeconds": 60,
        "periodSeconds": 240,
        "timeoutSeconds": 240,
    }
    apps = of(default_stack(), "app:ContainerApp")
    probes = [p for a in apps for c in a.inputs["template"]["containers"] for p in c["probes"]]
    assert len(probes) >= 5
    for probe in probes:
        for key, most in limits.items():
            assert 1 <= probe.get(key, 1) <= most, (probe, key)


def test_the_ocr_function_uses_identity_based_host_storage() -> None:
    stack = default_stack()
    function_app = one(stack, "web:WebApp").inputs
    settings = {s["name"]: s["value"] for s in function_app["siteConfig"]["appSettings"]}
    assert settings["AzureWebJobsStorage__accountName"] == "mlopsfuncabc123de"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "client-base-ocr-id"
    assert "AzureWebJobsStorage" not in settings
    assert "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING" not in settings
    assert function_app["kind"] == "functionapp,linux,container"
    assert function_app["siteConfig"]["linuxFxVersion"].startswith(
        "DOCKER|mlopsabc123de.azurecr.io/mlops-ocr@"
    )
    assert function_app["keyVaultReferenceIdentity"].endswith("/base-ocr-id")
    # A retry takes a document over only once host.json's timeout has surely ended it.
    assert int(settings["MLOPS_OCR_LEASE_SECONDS"]) == function_timeout_seconds() + 60
    assert function_app["httpsOnly"] is True
    plan = one(stack, "web:AppServicePlan").inputs
    assert plan["sku"]["tier"] == "ElasticPremium" and plan["reserved"] is True


def test_the_training_job_is_started_by_hand_with_the_training_identity() -> None:
    job = one(default_stack(), "app:Job").inputs
    assert job["configuration"]["triggerType"] == "Manual"
    assert job["configuration"]["replicaRetryLimit"] == 0
    container = job["template"]["containers"][0]
    assert container["command"] == COMMAND
    assert job["identity"]["userAssignedIdentities"][0].endswith("/base-training-id")


def test_a_workload_waits_for_the_grants_it_needs_at_creation() -> None:
    grant, pull = object(), object()
    ref = SecretRef(name="s", uri=None, grants=(grant,))  # type: ignore[arg-type]
    env = {"PLAIN": "x", "SECRET": ref}
    assert waits_for(env, pull, None) == [grant, pull]  # type: ignore[arg-type]
    variables, secrets = container_env(env, identity_id="/id")
    assert [(v.name, v.value, v.secret_ref) for v in variables] == [
        ("PLAIN", "x", None),
        ("SECRET", None, "s"),
    ]
    assert [(s.name, s.identity, s.value) for s in secrets] == [("s", "/id", None)]


def test_the_probe_path_is_a_route_of_the_app() -> None:
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.settings import Settings

    # No lifespan (no container, no model): the probe needs neither.
    client = TestClient(create_app(Settings.model_validate({"cloud": "local"})))
    assert client.get("/livez").status_code == 200
