"""Records: a Firestore database in native mode, its TTL policy and composite indexes.

The collections are the Firestore adapter's (app/adapters/gcp/firestore.py):
``documents``, ``predictions``, ``feedback``, ``jobs`` and ``idempotency``. Storage events
already handled are remembered in ``idempotency`` until ``expires_at`` (a timestamp);
the TTL policy below lets Firestore delete them (up to a day late, which the adapter
tolerates). :data:`INDEXES` are the composite indexes the adapter's queries need, as its
module docstring lists them (a test keeps the two in step).

Access is ``roles/datastore.user`` on the project, narrowed by an IAM condition to this
database: Firestore has no per-database IAM policy, but conditions on the database's
resource name restrict a binding to it.

Example::

    records = Records("records", RecordsArgs(project="p", location="europe-west1",
                                             users=[app_member, ocr_member]))
    records.database_name  # "(default)"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_gcp import firestore, projects

from infra.gcp.foundation import child_opts

# Collections whose documents Firestore deletes once their ``expires_at`` is past: event
# markers, and finished documents and predictions (the app sets it: MLOPS_RETENTION_DAYS).
TTL_COLLECTIONS = ("idempotency", "documents", "predictions")
TTL_FIELD = "expires_at"
USER_ROLE = "roles/datastore.user"

# (collection, ((field, "ASCENDING" | "DESCENDING"), ...))
INDEXES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("documents", (("owner", "ASCENDING"), ("created_at", "DESCENDING"))),
    ("documents", (("status", "ASCENDING"), ("created_at", "DESCENDING"))),
    ("documents", (("owner", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"))),
    ("feedback", (("model_version", "ASCENDING"), ("created_at", "DESCENDING"))),
)


@dataclass
class RecordsArgs:
    project: str
    # A Firestore location: a region such as europe-west1, or a multi-region (eur3, nam5).
    location: str
    database: str = "(default)"
    # IAM members that read and write documents.
    users: Sequence[pulumi.Input[str]] = ()
    indexes: Sequence[tuple[str, tuple[tuple[str, str], ...]]] = INDEXES
    deletion_protection: bool = True
    point_in_time_recovery: bool = False


class Records(pulumi.ComponentResource):
    database_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: RecordsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Records", name, None, opts)
        child = child_opts(self, opts)
        database = firestore.Database(
            f"{name}-database",
            project=args.project,
            name=args.database,
            location_id=args.location,
            type="FIRESTORE_NATIVE",
            concurrency_mode="OPTIMISTIC",  # the adapter writes with preconditions
            delete_protection_state=(
                "DELETE_PROTECTION_ENABLED"
                if args.deletion_protection
                else "DELETE_PROTECTION_DISABLED"
            ),
            # ABANDON keeps the data when the stack goes; DELETE (dev stacks) removes it.
            deletion_policy="ABANDON" if args.deletion_protection else "DELETE",
            point_in_time_recovery_enablement=(
                "POINT_IN_TIME_RECOVERY_ENABLED"
                if args.point_in_time_recovery
                else "POINT_IN_TIME_RECOVERY_DISABLED"
            ),
            opts=child,
        )
        for collection in TTL_COLLECTIONS:
            firestore.Field(
                f"{name}-{collection}-ttl",
                project=args.project,
                database=database.name,
                collection=collection,
                field=TTL_FIELD,
                ttl_config={},
                # No single-field index on a TTL timestamp: it is never queried, and an
                # index on a steadily increasing value limits write throughput.
                index_config={},
                opts=child,
            )
        for collection, fields in args.indexes:
            firestore.Index(
                f"{name}-{collection}-" + "-".join(f.replace("_", "-") for f, _ in fields),
                project=args.project,
                database=database.name,
                collection=collection,
                query_scope="COLLECTION",
                fields=[{"field_path": f, "order": order} for f, order in fields],
                opts=child,
            )
        condition = projects.IAMMemberConditionArgs(
            title="firestore-database",
            description="This Firestore database only",
            expression=database.name.apply(
                lambda db: f'resource.name == "projects/{args.project}/databases/{db}"'
            ),
        )
        for index, member in enumerate(args.users):
            projects.IAMMember(
                f"{name}-user-{index}",
                project=args.project,
                role=USER_ROLE,
                member=member,
                condition=condition,
                opts=child,
            )

        self.database_name = database.name
        self.register_outputs({"database_name": self.database_name})
