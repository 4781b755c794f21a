"""Whole-program runs of the Azure program under mocks, shared by the Azure infra tests.

Azure resources get ARM-shaped ids (``/subscriptions/.../providers/Microsoft.X/...``)
and the computed attributes the program reads (login servers, endpoints, identity ids),
so scope checks see what Azure would return. Each configuration runs once per session.

Example::

    stack = default_stack()
    stack.of_type("azure-native:containerregistry:Registry")
"""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

import pulumi

from infra.__main__ import main
from tests.infra import mocks
from tests.infra.mocks import RecordingMocks, Resource, Stack, run_program

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "99999999-8888-7777-6666-555555555555"
LOCATION = "westeurope"
AUDIENCE = "11111111-2222-3333-4444-555555555555"
PUBLISHER = "ops@example.com"
APP_IMAGE = "mlopsci.azurecr.io/mlops-app:1.4.0"
OCR_IMAGE = "mlopsci.azurecr.io/mlops-ocr:1.4.0"
EXTERNAL_MLFLOW = "https://mlflow.example.com"
REQUIRED_OUTPUTS = ("api_url", "app_url", "uploads_bucket", "registry_url", "storage_account")
SHARED_KEY = "bW9jay1zaGFyZWQta2V5"  # what getSharedKeys returns; only the environment sees it
STORAGE_KEY = "c3RvcmFnZS1hY2NvdW50LWtleQ=="  # listStorageAccountKeys, never to be used

# type token -> (ARM path under the resource group, input naming the resource)
_ARM: dict[str, tuple[str, str]] = {
    "storage:StorageAccount": ("Microsoft.Storage/storageAccounts/{}", "accountName"),
    "containerregistry:Registry": ("Microsoft.ContainerRegistry/registries/{}", "registryName"),
    "keyvault:Vault": ("Microsoft.KeyVault/vaults/{}", "vaultName"),
    "managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        "resourceName",
    ),
    "operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces/{}", ""),
    "applicationinsights:Component": ("Microsoft.Insights/components/{}", ""),
    "app:ManagedEnvironment": ("Microsoft.App/managedEnvironments/{}", "environmentName"),
    "app:ContainerApp": ("Microsoft.App/containerApps/{}", "containerAppName"),
    "app:Job": ("Microsoft.App/jobs/{}", "jobName"),
    "web:AppServicePlan": ("Microsoft.Web/serverfarms/{}", "name"),
    "web:WebApp": ("Microsoft.Web/sites/{}", "name"),
    "cosmosdb:DatabaseAccount": ("Microsoft.DocumentDB/databaseAccounts/{}", "accountName"),
    "eventgrid:SystemTopic": ("Microsoft.EventGrid/systemTopics/{}", "systemTopicName"),
    "dbforpostgresql:Server": ("Microsoft.DBforPostgreSQL/flexibleServers/{}", "serverName"),
    "apimanagement:ApiManagementService": ("Microsoft.ApiManagement/service/{}", "serviceName"),
}
# Children named inside a parent: type -> (parent type, parent input, segment, name input)
_CHILD: dict[str, tuple[str, str, str, str]] = {
    "storage:BlobContainer": (
        "storage:StorageAccount",
        "accountName",
        "blobServices/default/containers",
        "containerName",
    ),
    "keyvault:Secret": ("keyvault:Vault", "vaultName", "secrets", "secretName"),
    "cosmosdb:SqlResourceSqlDatabase": (
        "cosmosdb:DatabaseAccount",
        "accountName",
        "sqlDatabases",
        "databaseName",
    ),
}


def arm_id(kind: str, name: str, inputs: dict[str, Any]) -> tuple[str, str]:
    """The ARM id and name Azure would give a resource of ``kind`` (``module:Type``)."""
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{inputs.get('resourceGroupName')}"
    if kind == "resources:ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}", name
    if kind in _ARM:
        path, key = _ARM[kind]
        real = inputs.get(key) or name if key else name
        return f"{group}/providers/{path.format(real)}", real
    if kind in _CHILD:
        parent_kind, parent_key, segment, key = _CHILD[kind]
        parent_path = _ARM[parent_kind][0].format(inputs[parent_key])
        real = inputs.get(key) or name
        return f"{group}/providers/{parent_path}/{segment}/{real}", real
    if kind == "authorization:RoleDefinition":
        guid = f"role-{name}"
        return (
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            guid,
        )
    if kind == "authorization:RoleAssignment":
        return (
            f"{inputs.get('scope')}/providers/Microsoft.Authorization/roleAssignments/{name}",
            name,
        )
    return f"{group}/providers/Mock.{kind.replace(':', '/')}/{name}", name


def computed(kind: str, rid: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The attributes Azure computes that the program reads."""
    if kind == "managedidentity:UserAssignedIdentity":
        return {"clientId": f"client-{name}", "principalId": f"principal-{name}"}
    if kind == "operationalinsights:Workspace":
        return {"customerId": f"customer-{name}"}
    if kind == "applicationinsights:Component":
        return {"connectionString": f"InstrumentationKey=ikey-{name}"}
    if kind == "containerregistry:Registry":
        return {"loginServer": f"{name}.azurecr.io"}
    if kind == "keyvault:Vault":
        return {
            "properties": {**inputs["properties"], "vaultUri": f"https://{name}.vault.azure.net/"}
        }
    if kind == "app:ManagedEnvironment":
        return {"defaultDomain": "mock-env.westeurope.azurecontainerapps.io"}
    if kind == "app:ContainerApp":
        configuration = dict(inputs.get("configuration") or {})
        ingress = dict(configuration.get("ingress") or {})
        internal = "" if ingress.get("external") else ".internal"
        ingress["fqdn"] = f"{name}{internal}.mock-env.westeurope.azurecontainerapps.io"
        return {"configuration": {**configuration, "ingress": ingress}}
    if kind == "apimanagement:ApiManagementService":
        return {"gatewayUrl": f"https://{name}.azure-api.net"}
    if kind == "cosmosdb:DatabaseAccount":
        return {"documentEndpoint": f"https://{name}.documents.azure.com:443/"}
    if kind == "dbforpostgresql:Server":
        return {"fullyQualifiedDomainName": f"{name}.postgres.database.azure.com"}
    if kind == "eventgrid:SystemTopic":
        return {"identity": {**inputs.get("identity", {}), "principalId": f"principal-{name}"}}
    if kind == "web:WebApp":
        return {"defaultHostName": f"{name}.azurewebsites.net"}
    return {}


class AzureMocks(RecordingMocks):
    """RecordingMocks with ARM ids, Azure names and computed attributes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        _, state = super().new_resource(args)
        if args.typ.startswith("random:"):
            state.setdefault("result", "abc123de" if args.typ.endswith("String") else "pw" * 8)
        if not args.typ.startswith("azure-native:"):
            return _, state
        kind = args.typ.removeprefix("azure-native:")
        rid, name = arm_id(kind, args.name, dict(args.inputs))
        state.update({"id": rid, "name": name, "location": args.inputs.get("location", LOCATION)})
        state.update(computed(kind, rid, name, dict(args.inputs)))
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Sent as a list of ids, returned by Azure as a map id -> identity.
            ids = identity["userAssignedIdentities"]
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in ids}}
        self.stack.resources[-1].id = rid
        return rid, state


CALLS: mocks.Calls = {
    "azure-native:authorization:getClientConfig": lambda _: {
        "clientId": "deployer",
        "objectId": "deployer-object",
        "subscriptionId": SUBSCRIPTION,
        "tenantId": TENANT,
    },
    "azure-native:operationalinsights:getSharedKeys": lambda _: {
        "primarySharedKey": SHARED_KEY,
        "secondarySharedKey": SHARED_KEY,
    },
    "azure-native:storage:listStorageAccountKeys": lambda _: {
        "keys": [{"keyName": "key1", "value": STORAGE_KEY, "permissions": "FULL"}]
    },
}


def run_stack(**settings: str) -> Stack:
    """Run infra/__main__ with mlops:cloud=azure and ``mlops:<key>`` settings."""
    values = {
        "cloud": "azure",
        "apimPublisherEmail": PUBLISHER,
        "authAudience": AUDIENCE,
        **settings,
    }
    config = {f"mlops:{key}": value for key, value in values.items()}
    config["azure-native:location"] = LOCATION
    # run_program builds its own RecordingMocks; these tests swap in the ARM-shaped ones.
    with mock.patch.object(mocks, "RecordingMocks", AzureMocks):
        return run_program(main, config=config, calls=CALLS)


def run_failing_stack(**settings: str) -> tuple[Stack, str]:
    errors: list[str] = []

    def program() -> None:
        try:
            main()
        except pulumi.RunError as exc:
            errors.append(str(exc))

    config = {f"mlops:{k}": v for k, v in {"cloud": "azure", **settings}.items()}
    with mock.patch.object(mocks, "RecordingMocks", AzureMocks):
        stack = run_program(program, config=config, calls=CALLS)
    assert errors, "the program was expected to stop with a RunError"
    return stack, errors[0]


@functools.cache
def default_stack() -> Stack:
    """Images built here, MLflow in the stack."""
    return run_stack()


@functools.cache
def external_stack() -> Stack:
    """CI-built images and an external MLflow (a secret)."""
    return run_stack(appImage=APP_IMAGE, ocrImage=OCR_IMAGE, mlflowTrackingUri=EXTERNAL_MLFLOW)


CUSTOM_ISSUER = "https://idp.example.com/realms/mlops"


@functools.cache
def custom_stack() -> Stack:
    """Another token issuer with two audiences, purge protection off, CI-built images,
    MLflow reachable from the environment only."""
    return run_stack(
        mlflowIngress="internal",
        authIssuer=CUSTOM_ISSUER,
        authAudience="api-one,api-two",
        keyVaultPurgeProtection="false",
        appImage=APP_IMAGE,
        ocrImage=OCR_IMAGE,
    )


def of(stack: Stack, kind: str) -> list[Resource]:
    return stack.of_type(f"azure-native:{kind}")


def one(stack: Stack, kind: str) -> Resource:
    return stack.one(f"azure-native:{kind}")
