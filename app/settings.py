"""One settings class for every process: the app, the OCR functions and the trainer.

Defaults give the local embedded mode (data dir, SQLite, MLflow on SQLite + file
artifacts), so `make run` needs no configuration at all.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Cloud(StrEnum):
    LOCAL = "local"
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"


class AuthMode(StrEnum):
    OFF = "off"
    # Off on an address the network reaches: every caller is admin. Named so that
    # nobody sets it by accident.
    OFF_INSECURE = "off-insecure"
    REQUIRED = "required"


class OcrEngineName(StrEnum):
    TESSERACT = "tesseract"
    RAPIDOCR = "rapidocr"


class PromotePolicy(StrEnum):
    """When a newly trained version becomes champion."""

    IF_BETTER = "if-better"
    ALWAYS = "always"
    NEVER = "never"


class Settings(BaseSettings):
    """Validated at start; read through :func:`get_settings`.

    Example::

        MLOPS_DATA_DIR=/srv/mlops MLOPS_OCR_ENGINE=rapidocr mlops serve
    """

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore")

    cloud: Cloud = Field(
        Cloud.LOCAL,
        description="which adapters: `local`, `aws`, `azure` or `gcp` (a cloud names the"
        " settings it is missing at start)",
    )
    data_dir: Path = Field(
        Path(".mlops"),
        description="uploads, SQLite records, MLflow registry and artifacts, OCR cache",
    )
    host: str = Field("127.0.0.1", description="where `mlops serve` listens")
    port: int = Field(
        8000, ge=0, le=65535, description="where `mlops serve` listens (`0` = any free port)"
    )

    # Model registry. Empty means the local MLflow under data_dir.
    mlflow_tracking_uri: str = Field(
        "",
        description="an external MLflow tracking/registry server; empty: the local SQLite"
        " registry under the data dir",
    )
    # Where new runs store artifacts (s3://..., file://...). Empty: the data dir for a
    # local registry, the tracking server's own default for a remote one.
    mlflow_artifact_root: str = Field(
        "",
        description="where `mlops train` stores new runs' artifacts (e.g."
        " `s3://bucket/mlflow`); empty: the data dir for a local registry, the tracking"
        " server's own default for a remote one",
    )
    model_name: str = Field("document-classifier", description="the registered model served")
    model_alias: str = Field("champion", description="the alias of the registered model served")
    train_on_empty_registry: bool = Field(
        True, description="train the default model when the registry is empty at start"
    )
    default_train_per_class: int = Field(
        400, ge=10, description="generated training documents per class for that first model"
    )
    default_eval_per_class: int = Field(
        10,
        ge=1,
        description="unseen documents per class rendered and read through OCR to score that"
        " first model",
    )

    # Document intake and OCR limits.
    max_upload_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="larger uploads get 413 before the body is read"
    )
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="decompression-bomb guard, per page"
    )
    max_pdf_pages: int = Field(20, gt=0, description="PDF page cap")
    pdf_dpi: int = Field(200, ge=50, le=600, description="PDF rasterisation resolution")
    ocr_engine: OcrEngineName = Field(
        OcrEngineName.TESSERACT,
        description="`tesseract` or `rapidocr` (RapidOCR 3, models ship in the wheel; ~4 s/page"
        " on a 2-core machine, so Tesseract is the default)",
    )
    ocr_languages: str = Field("fra+eng", description="Tesseract languages")
    ocr_workers: int = Field(1, ge=1, le=16, description="documents OCR'd at once in local mode")
    ocr_lease_seconds: float = Field(
        900,
        ge=30,
        description="how long a cloud OCR function holds a document (its event-ledger entry"
        " and the record's claim): a retry after a crash or timeout takes it over then, so"
        " keep it a little over the platform's invocation timeout (the Pulumi programs set"
        " it: Azure 660, GCP the OCR service's timeout + 60)",
    )

    # Prediction limits.
    max_texts_per_request: int = Field(
        100, ge=1, description="`/v1/predict`: most texts per request (413 past it)"
    )
    max_text_chars: int = Field(
        100_000, ge=1, description="`/v1/predict`: longest text, characters (413 past it)"
    )

    # Privacy: how long what users sent is kept.
    retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="days a served prediction (with its text) and a finished document (its"
        " text, result and file) are kept; the cloud stores expire them by TTL, local mode"
        " sweeps them hourly. Feedback labels keep their text: they are training data",
    )

    # Monitoring and the retraining loop.
    monitoring_window: int = Field(
        200, ge=1, description="feedback labels in the serving model's rolling accuracy"
    )
    drift_window: int = Field(
        500, ge=10, description="recent inputs compared with the training data"
    )
    drift_min_inputs: int = Field(
        100, ge=1, description="inputs needed before a drift figure is reported"
    )
    retrain_accuracy_threshold: float = Field(
        0.8, ge=0, le=1, description="rolling accuracy under which a retraining job starts"
    )
    retrain_min_labels: int = Field(
        30, ge=1, description="labels the window needs before its accuracy counts"
    )
    retrain_cooldown_seconds: float = Field(
        3600,
        ge=0,
        description="after an automatic job, no other starts for this long (nor while one runs)",
    )
    auto_retrain: bool = Field(
        True, description="`false`: monitoring still reports, only admins start jobs"
    )
    retrain_generate_per_class: int = Field(
        400,
        ge=1,
        description="generated documents per class a retraining job trains on besides the feedback",
    )
    retrain_heldout_per_class: int = Field(
        10, ge=1, description="unseen documents per class a retraining job scores on"
    )
    retrain_promote: PromotePolicy = Field(
        PromotePolicy.IF_BETTER,
        description="`if-better` (beats the champion on the same held-out set), `always`,"
        " `never` (an admin promotes)",
    )
    model_poll_seconds: float = Field(
        30,
        ge=0,
        description="how often each serving process checks the `champion` alias (`0`: never;"
        " promoting through the API swaps at once)",
    )

    # Identity. Unset: off in local mode, required everywhere else.
    auth: AuthMode | None = Field(
        None,
        description="`off` or `required`; unset: `off` locally (without an issuer),"
        " `required` elsewhere, and a cloud refuses `off`. `off` serves on a loopback"
        " `MLOPS_HOST` only; `off-insecure` lets anyone who reaches another address act"
        " as admin",
    )
    auth_issuer: str = Field(
        "",
        description="the `iss` tokens must carry; empty locally: the development issuer of"
        " `mlops token`",
    )
    auth_audience: str = Field(
        "", description="comma-separated; matched against `aud` or `client_id`"
    )
    auth_jwks_url: str = Field(
        "", description="the issuer's keys; empty: `<issuer>/.well-known/jwks.json`"
    )
    auth_admin_group: str = Field("admin", description="the group or role admin routes need")
    auth_group_claims: str = Field(
        "cognito:groups,groups,roles",
        description="comma-separated claims searched for the admin group (a claim may be a"
        " list or a space-separated string)",
    )
    auth_algorithms: str = Field(
        "RS256,ES256", description="comma-separated signature algorithms accepted (RS* and ES*)"
    )
    auth_leeway_seconds: int = Field(
        30, ge=0, le=300, description="clock leeway on `exp` and `nbf`"
    )
    auth_jwks_timeout_seconds: float = Field(5, gt=0, le=60, description="timeout of a JWKS fetch")
    auth_header: str = Field(
        "authorization",
        description="request header holding the caller's bearer token (GCP's gateway:"
        " `x-forwarded-authorization`)",
    )

    log_level: str = Field("INFO", description="`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`")

    # Cloud resources (set by the Pulumi program on every container and function).
    uploads_bucket: str = Field(
        "",
        description="the uploads bucket (`aws`, `gcp`) or blob container (`azure`); every"
        " cloud setting below is set by the Pulumi program",
    )
    records_table: str = Field(
        "",
        description="`aws`: the DynamoDB table of records, feedback, jobs and idempotency",
    )
    # A presigned POST lives no longer than the role credentials that signed it
    # (hours for a task or function role), so longer would be a promise not kept.
    upload_url_expiry_seconds: int = Field(
        900,
        ge=60,
        le=6 * 3600,
        description="how long a `POST /v1/documents/upload-url` answer stays valid (at most"
        " 6 h: a presigned POST dies with the role credentials that signed it); locally, a"
        " document whose bytes have not come by then is failed at the next start",
    )
    aws_ecs_cluster: str = Field("", description="`aws`: the ECS cluster retraining jobs run in")
    aws_training_task_definition: str = Field(
        "", description="`aws`: the task definition of a retraining job"
    )
    aws_training_container: str = Field(
        "train", description="`aws`: the container of that task definition running `mlops train`"
    )
    aws_training_subnets: str = Field(
        "", description="`aws`: comma-separated subnet ids of retraining jobs"
    )
    aws_training_security_groups: str = Field(
        "", description="`aws`: comma-separated security group ids of retraining jobs"
    )
    # Azure: identities come from DefaultAzureCredential (AZURE_CLIENT_ID names the
    # workload's managed identity); a connection string is for the Azurite emulator only.
    azure_storage_account_url: str = Field(
        "",
        description="`azure`: `https://<account>.blob.core.windows.net` (identity auth:"
        " `DefaultAzureCredential`, with `AZURE_CLIENT_ID` naming the workload's managed"
        " identity)",
    )
    azure_storage_connection_string: str = Field(
        "",
        description="`azure`: for Azurite only; never set in Azure (the storage account"
        " refuses shared keys)",
    )
    azure_cosmos_endpoint: str = Field(
        "", description="`azure`: the Cosmos DB account (RBAC, no keys)"
    )
    azure_cosmos_database: str = Field("mlops", description="`azure`: the Cosmos DB database")
    azure_subscription_id: str = Field(
        "", description="`azure`: the subscription of the retraining job"
    )
    azure_resource_group: str = Field(
        "", description="`azure`: the resource group of the retraining job"
    )
    azure_training_job: str = Field(
        "", description="`azure`: the Container Apps job retraining runs as"
    )
    azure_log_workspace_id: str = Field(
        "",
        description="`azure`: the Log Analytics workspace (customer) id the job's logs are"
        " read from",
    )
    # GCP: credentials from the runtime's service account (Application Default Credentials).
    gcp_project: str = Field(
        "", description="`gcp`: where Firestore, the Cloud Run job and the logs are"
    )
    gcp_region: str = Field(
        "", description="`gcp`: the region of the Cloud Run job retraining runs as"
    )
    gcp_firestore_database: str = Field("(default)", description="`gcp`: the Firestore database")
    gcp_training_job: str = Field("", description="`gcp`: the Cloud Run job retraining runs as")
    gcp_signing_service_account: str = Field(
        "",
        description="`gcp`: the service account that signs upload URLs through IAM `signBlob`"
        " (Cloud Run credentials hold no private key); empty: the runtime's own",
    )

    @model_validator(mode="after")
    def _check_cloud(self) -> Settings:
        needed = _CLOUD_NEEDS.get(self.cloud, ())
        missing = [
            " or ".join(f"MLOPS_{name.upper()}" for name in names)
            for names in needed
            if not any(getattr(self, name) for name in names)
        ]
        if missing:
            raise ValueError(
                f"MLOPS_CLOUD={self.cloud.value} needs {', '.join(missing)}"
                " (the Pulumi program sets them)"
            )
        return self

    @staticmethod
    def split_ids(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        if self.auth is None:
            # Naming an issuer means wanting tokens checked, in local mode too.
            off = self.cloud is Cloud.LOCAL and not self.auth_issuer
            self.auth = AuthMode.OFF if off else AuthMode.REQUIRED
        if self.auth is not AuthMode.REQUIRED and self.cloud is not Cloud.LOCAL:
            raise ValueError("auth can only be off in local mode (MLOPS_CLOUD=local)")
        if self.auth is AuthMode.OFF and not _is_loopback(self.host):
            raise ValueError(
                f"auth is off and MLOPS_HOST={self.host} is reachable from the network, so"
                " every caller there would be admin: set MLOPS_AUTH=required (tokens from"
                " `mlops token` or MLOPS_AUTH_ISSUER), listen on 127.0.0.1, or set"
                " MLOPS_AUTH=off-insecure to accept that"
            )
        # Local mode without an issuer uses the dev issuer (`mlops token`); anywhere
        # else, or with an issuer named, both issuer and audience must be given.
        needs_issuer = self.cloud is not Cloud.LOCAL or bool(self.auth_issuer)
        if (
            self.auth is AuthMode.REQUIRED
            and needs_issuer
            and not (self.auth_issuer and self.audiences)
        ):
            raise ValueError(
                "MLOPS_AUTH_ISSUER and MLOPS_AUTH_AUDIENCE are both needed to verify tokens"
            )
        unknown = set(self.algorithms) - {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}
        if unknown:
            raise ValueError(f"auth_algorithms: only RS* and ES* are accepted, not {unknown}")
        return self

    @property
    def audiences(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.auth_audience.split(",") if a.strip())

    @property
    def group_claims(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.auth_group_claims.split(",") if c.strip())

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.auth_algorithms.split(",") if a.strip())

    @property
    def auth_required(self) -> bool:
        return self.auth is AuthMode.REQUIRED

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86_400

    @property
    def dev_auth_dir(self) -> Path:
        return self.data_dir / "dev-auth"

    @model_validator(mode="after")
    def _check_log_level(self) -> Settings:
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(
                f"log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {self.log_level!r}"
            )
        self.log_level = self.log_level.upper()
        return self

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def records_db(self) -> Path:
        return self.data_dir / "records.sqlite3"

    @property
    def ocr_cache_dir(self) -> Path:
        return self.data_dir / "ocr-cache"

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def artifact_root(self) -> str | None:
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        if self.tracking_uri.startswith(("http://", "https://", "databricks")):
            return None
        return (self.data_dir / "mlartifacts").resolve().as_uri()


# The settings each cloud cannot start without (any one of a tuple will do).
_CLOUD_NEEDS: dict[Cloud, tuple[tuple[str, ...], ...]] = {
    Cloud.AWS: (("uploads_bucket",), ("records_table",), ("mlflow_tracking_uri",)),
    Cloud.AZURE: (
        ("uploads_bucket",),
        ("azure_storage_account_url", "azure_storage_connection_string"),
        ("azure_cosmos_endpoint",),
        ("mlflow_tracking_uri",),
    ),
    Cloud.GCP: (("uploads_bucket",), ("gcp_project",), ("mlflow_tracking_uri",)),
}


def _is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name other than localhost may
    resolve anywhere, so it counts as the network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    """Settings that cannot start the service; the message is one line for the operator."""


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's multi-line report into one line naming the env variable."""
    parts = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["loc"]:
            field = ".".join(str(p) for p in err["loc"])
            parts.append(f"MLOPS_{field.upper()}: {message}")
        else:
            parts.append(message)
    return "Invalid settings: " + "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, raising :class:`SettingsError` with one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
