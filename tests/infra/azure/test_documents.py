"""Storage (uploads, artifacts, dead letters), its lifecycle, and the upload events."""

from __future__ import annotations

from infra.azure.documents import UPLOADS_SUBJECT
from tests.infra.azure.stacks import default_stack, of, one
from tests.infra.mocks import Resource


def _docs_account() -> Resource:
    return next(
        r for r in of(default_stack(), "storage:StorageAccount") if r.name == "documents-account"
    )


def test_every_storage_account_is_locked_down() -> None:
    accounts = of(default_stack(), "storage:StorageAccount")
    assert len(accounts) == 2  # documents, and the Function host's own
    for account in accounts:
        inputs = account.inputs
        assert inputs["enableHttpsTrafficOnly"] is True, account.name
        assert inputs["minimumTlsVersion"] == "TLS1_2", account.name
        assert inputs["allowBlobPublicAccess"] is False, account.name
        assert inputs["allowSharedKeyAccess"] is False, account.name
        assert inputs["defaultToOAuthAuthentication"] is True, account.name


def test_the_containers_are_private() -> None:
    containers = {
        c.inputs["containerName"]: c for c in of(default_stack(), "storage:BlobContainer")
    }
    assert set(containers) == {"uploads", "artifacts", "deadletter"}
    assert all(c.inputs["publicAccess"] == "None" for c in containers.values())


def test_uploads_and_dead_letters_expire() -> None:
    policy = one(default_stack(), "storage:ManagementPolicy").inputs["policy"]
    expiring = {
        prefix: rule["definition"]["actions"]["baseBlob"]["delete"][
            "daysAfterModificationGreaterThan"
        ]
        for rule in policy["rules"]
        for prefix in rule["definition"]["filters"]["prefixMatch"]
    }
    assert expiring == {"uploads/": 30, "deadletter/": 30}


def test_browsers_may_put_uploads() -> None:
    service = one(default_stack(), "storage:BlobServiceProperties").inputs
    (rule,) = service["cors"]["corsRules"]
    assert "PUT" in rule["allowedMethods"]
    assert "x-ms-blob-type" in rule["allowedHeaders"]


def test_blob_created_under_uploads_goes_to_the_ocr_function() -> None:
    stack = default_stack()
    subscription = one(stack, "eventgrid:SystemTopicEventSubscription").inputs
    topic = one(stack, "eventgrid:SystemTopic")
    assert topic.inputs["source"] == _docs_account().id
    assert topic.inputs["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert subscription["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert subscription["filter"]["subjectBeginsWith"] == UPLOADS_SUBJECT
    assert UPLOADS_SUBJECT == "/blobServices/default/containers/uploads/blobs/uploads/"
    destination = subscription["destination"]
    assert destination["endpointType"] == "AzureFunction"
    function_app = one(stack, "web:WebApp")
    assert destination["resourceId"] == f"{function_app.id}/functions/on_blob_created"


def test_undelivered_events_are_retried_then_dead_lettered_with_the_topics_identity() -> None:
    stack = default_stack()
    subscription = one(stack, "eventgrid:SystemTopicEventSubscription").inputs
    assert subscription["retryPolicy"] == {
        "maxDeliveryAttempts": 10,
        "eventTimeToLiveInMinutes": 1440,
    }
    dead = subscription["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"] == {
        "endpointType": "StorageBlob",
        "resourceId": _docs_account().id,
        "blobContainerName": "deadletter",
    }
    assert "deadLetterDestination" not in subscription  # no key-based dead letters
    writer = next(
        a
        for a in of(stack, "authorization:RoleAssignment")
        if a.name == "uploads-deadletter-writer"
    )
    assert writer.inputs["principalId"] == "principal-uploads-topic"
    assert writer.inputs["scope"].endswith("/containers/deadletter")
