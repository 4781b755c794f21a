"""Cosmos DB (NoSQL API) at the SDK boundary, for the Cosmos adapters: no emulator runs here.

:class:`FakeCosmosDatabase` stands in for ``azure.cosmos.DatabaseProxy``;
``get_container_client(name)`` returns a :class:`FakeContainer` with the methods the
adapters call, raising the SDK's own exceptions with Cosmos' status codes. What it
enforces, because the adapters rely on it:

- items are keyed by (partition key value, id): every item carries ``pk`` (the path all
  containers are partitioned on) and a valid id; a read or delete with another
  partition key value does not find it; a batch is confined to one partition;
- ``create_item`` refuses an existing id (409), reads of an absent item 404;
- ``_etag`` changes on every write; ``etag`` + ``MatchConditions.IfNotModified`` makes
  a replace, delete or batch operation conditional (412 when stale);
- one lock for the whole account, so a conditional write is atomic as in Cosmos;
- TTL: with a container default TTL (``idempotency``), an item older than its ``ttl``
  (or the default) counted from its last write is gone;
- ``query_items`` parses the SQL the adapters send and refuses any other shape.

It does not emulate consistency levels, RU charges, paging, indexing policies, change
feed, stored procedures or patch operations.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosBatchOperationError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

PARTITION_KEY = "pk"
# The containers the infrastructure creates, with their default TTL (None: TTL off; -1:
# on, each item's own ``ttl`` counts).
CONTAINERS: dict[str, int | None] = {
    "records": -1,
    "feedback": -1,
    "jobs": None,
    "idempotency": 86400,
}
_BAD_ID = re.compile(r"[/\\?#]")


def _bad_request(message: str) -> CosmosHttpResponseError:
    return CosmosHttpResponseError(status_code=400, message=message)


def _not_found(item_id: str) -> CosmosResourceNotFoundError:
    return CosmosResourceNotFoundError(
        status_code=404, message=f"Entity with the specified id {item_id!r} does not exist."
    )


class FakeCosmosDatabase:
    """Example::

    database = FakeCosmosDatabase()
    records = CosmosDocumentRecords(database)
    database.get_container_client("records").stored()   # the raw items, pk included
    """

    def __init__(
        self,
        containers: Mapping[str, int | None] = CONTAINERS,
        *,
        clock: Callable[[], float] = time.time,
        latency: float = 0.0005,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.latency = latency
        self._containers = {
            name: FakeContainer(name, ttl, self) for name, ttl in containers.items()
        }

    def get_container_client(self, container: str) -> FakeContainer:
        if container not in self._containers:
            raise CosmosResourceNotFoundError(
                status_code=404, message=f"Resource Not Found: container {container!r}."
            )
        return self._containers[container]


@dataclass
class _Stored:
    item: dict[str, Any]
    written_at: float


class FakeContainer:
    """One container partitioned on ``/pk``; see the module docstring."""

    def __init__(self, name: str, default_ttl: int | None, database: FakeCosmosDatabase) -> None:
        self.id = name
        self.default_ttl = default_ttl
        self._database = database
        self._items: dict[tuple[Any, str], _Stored] = {}
        self._faults: list[Exception] = []

    # -- test helpers

    def inject(self, error: Exception, times: int = 1) -> None:
        """Make the next ``times`` calls raise ``error`` (throttling, an outage...)."""
        with self._database.lock:
            self._faults.extend([error] * times)

    def stored(self) -> list[dict[str, Any]]:
        """Copies of the live items, system properties included."""
        with self._database.lock:
            now = self._database.clock()
            return [copy.deepcopy(s.item) for s in self._items.values() if self._alive(s, now)]

    # -- the SDK's methods

    def create_item(self, body: dict[str, Any], **options: Any) -> dict[str, Any]:
        _no_options(options)
        with self._call():
            return self._create(body)

    def read_item(
        self, item: str | Mapping[str, Any], partition_key: Any, **options: Any
    ) -> dict[str, Any]:
        _no_options(options)
        with self._call():
            return copy.deepcopy(self._get(_id_of(item), partition_key).item)

    def replace_item(
        self,
        item: str | Mapping[str, Any],
        body: dict[str, Any],
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        _no_options(options)
        with self._call():
            body = _json(body)
            if body.get("id") != _id_of(item):
                raise _bad_request("The id of the body differs from the id replaced.")
            current = self._get(body["id"], self._pk_of(body))
            _check_etag(current.item, etag, match_condition)
            return self._write(body)

    def upsert_item(self, body: dict[str, Any], **options: Any) -> dict[str, Any]:
        _no_options(options)
        with self._call():
            return self._write(_json(body))

    def delete_item(
        self,
        item: str | Mapping[str, Any],
        partition_key: Any,
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
        **options: Any,
    ) -> None:
        _no_options(options)
        with self._call():
            item_id = _id_of(item)
            current = self._get(item_id, partition_key)
            _check_etag(current.item, etag, match_condition)
            del self._items[(partition_key, item_id)]

    def query_items(
        self,
        query: str,
        parameters: Sequence[Mapping[str, Any]] | None = None,
        partition_key: Any = None,
        enable_cross_partition_query: bool | None = None,
        max_item_count: int | None = None,
        **options: Any,
    ) -> Iterator[dict[str, Any]]:
        _no_options(options)
        plan = _Query.parse(query, {p["name"]: p["value"] for p in parameters or []})
        if partition_key is None and not enable_cross_partition_query:
            raise _bad_request(
                "Cross partition query is required but disabled. Please set"
                " x-ms-documentdb-query-enablecrosspartition to true."
            )
        with self._call():
            now = self._database.clock()
            items = [
                s.item
                for (pk, _), s in self._items.items()
                if self._alive(s, now) and (partition_key is None or pk == partition_key)
            ]
            return iter(copy.deepcopy(plan.run(items)))

    def execute_item_batch(
        self,
        batch_operations: Sequence[tuple[Any, ...]],
        partition_key: Any,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """All operations or none, in one partition, like a transactional batch."""
        _no_options(options)
        if not 0 < len(batch_operations) <= 100:
            raise _bad_request("A batch holds 1 to 100 operations.")
        with self._call():
            saved = dict(self._items)
            results: list[dict[str, Any]] = []
            for index, operation in enumerate(batch_operations):
                try:
                    results.append(self._batch_operation(operation, partition_key))
                except CosmosHttpResponseError as exc:
                    self._items = saved
                    responses = [{"statusCode": 424} for _ in batch_operations]
                    responses[index] = {"statusCode": exc.status_code}
                    raise CosmosBatchOperationError(
                        error_index=index,
                        headers={},
                        status_code=exc.status_code,
                        message=f"There was an error in the transactional batch on index {index}.",
                        operation_responses=responses,
                    ) from None
            return results

    # -- inside the lock

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        # The request's trip over the network, outside the lock: other threads run in
        # between, so a read-then-write that forgets its etag loses updates here too.
        time.sleep(self._database.latency)
        with self._database.lock:
            if self._faults:
                raise self._faults.pop(0)
            yield

    def _alive(self, stored: _Stored, now: float) -> bool:
        if self.default_ttl is None:
            return True  # TTL off: an item's own ttl is ignored, as in Cosmos
        ttl = stored.item.get("ttl", self.default_ttl)
        return bool(ttl == -1 or now < stored.written_at + ttl)

    def _get(self, item_id: str, partition_key: Any) -> _Stored:
        stored = self._items.get((partition_key, item_id))
        if stored is None or not self._alive(stored, self._database.clock()):
            raise _not_found(item_id)
        return stored

    def _pk_of(self, body: Mapping[str, Any]) -> Any:
        item_id = body.get("id")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 255:
            raise _bad_request("The input name is invalid: an item needs a string id.")
        if _BAD_ID.search(item_id):
            raise _bad_request(f"The id {item_id!r} holds a character Cosmos refuses (/\\?#).")
        pk = body.get(PARTITION_KEY)
        if not isinstance(pk, str | int | float) or isinstance(pk, bool):
            # Cosmos would file it under an "undefined" key no point read reaches: refuse.
            raise _bad_request(f"The item {item_id!r} has no partition key /{PARTITION_KEY}.")
        return pk

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        body = _json(body)
        key = (self._pk_of(body), body["id"])
        stored = self._items.get(key)
        if stored is not None and self._alive(stored, self._database.clock()):
            raise CosmosResourceExistsError(
                status_code=409,
                message="Entity with the specified id already exists in the system.",
            )
        return self._write(body)

    def _write(self, body: dict[str, Any]) -> dict[str, Any]:
        pk = self._pk_of(body)
        if "ttl" in body and not (
            body["ttl"] == -1 or (isinstance(body["ttl"], int) and body["ttl"] > 0)
        ):
            raise _bad_request("The ttl of an item is a positive whole number of seconds or -1.")
        now = self._database.clock()
        item = {k: v for k, v in body.items() if not k.startswith("_")}
        item.update(_etag=f'"{uuid.uuid4()}"', _ts=int(now), _rid=uuid.uuid4().hex[:16])
        self._items[(pk, item["id"])] = _Stored(item, now)
        return copy.deepcopy(item)

    def _batch_operation(self, operation: tuple[Any, ...], partition_key: Any) -> dict[str, Any]:
        kind, args = str(operation[0]).lower(), operation[1]
        options = dict(operation[2]) if len(operation) > 2 else {}
        etag = options.pop("if_match_etag", None)
        if options:
            raise NotImplementedError(f"fake Cosmos: batch options {sorted(options)}")
        condition = MatchConditions.IfNotModified if etag is not None else None
        if kind in ("create", "upsert", "replace"):
            body = _json(args[-1])
            if self._pk_of(body) != partition_key:
                raise _bad_request("Batch operations must target the batch's partition key.")
            if kind == "create":
                if etag is not None:
                    raise _bad_request("A create takes no if-match etag.")
                item = self._create(body)
                return {"statusCode": 201, "resourceBody": item, "eTag": item["_etag"]}
            if kind == "replace":
                if body["id"] != args[0]:
                    raise _bad_request("The id of the body differs from the id replaced.")
                _check_etag(self._get(args[0], partition_key).item, etag, condition)
            item = self._write(body)
            return {"statusCode": 200, "resourceBody": item, "eTag": item["_etag"]}
        if kind in ("read", "delete"):
            current = self._get(args[0], partition_key)
            _check_etag(current.item, etag, condition)
            if kind == "delete":
                del self._items[(partition_key, args[0])]
                return {"statusCode": 204}
            return {"statusCode": 200, "resourceBody": copy.deepcopy(current.item)}
        raise NotImplementedError(f"fake Cosmos: batch operation {kind!r}")


def _no_options(options: Mapping[str, Any]) -> None:
    """Options the fake would silently ignore are refused, so a test cannot pass on them."""
    if options:
        raise NotImplementedError(f"fake Cosmos: unsupported options {sorted(options)}")


def _id_of(item: str | Mapping[str, Any]) -> str:
    return item if isinstance(item, str) else str(item["id"])


def _json(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy through JSON, as the SDK sends it: a datetime or a set fails here too."""
    copied: dict[str, Any] = json.loads(json.dumps(body))
    return copied


def _check_etag(
    item: Mapping[str, Any], etag: str | None, condition: MatchConditions | None
) -> None:
    if condition is None or condition is MatchConditions.Unconditionally:
        return
    if condition is not MatchConditions.IfNotModified or etag is None:
        raise NotImplementedError(f"fake Cosmos: match condition {condition} with etag {etag}")
    if item["_etag"] != etag:
        raise CosmosAccessConditionFailedError(
            status_code=412,
            message="Operation cannot be performed because one of the specified"
            " precondition is not met.",
        )


# -- the SQL the adapters send

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<param>@\w+)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(?P<star>\*))"
)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_MISSING = object()


@dataclass
class _Query:
    """``SELECT [TOP n] * FROM c [WHERE c.a op v [AND ...]] [ORDER BY c.x [ASC|DESC]]
    [OFFSET n LIMIT m]``: the shapes the adapters use, nothing else."""

    conditions: list[tuple[str, str, Any]]
    order: tuple[str, bool] | None
    top: int | None
    offset: int
    limit: int | None

    @classmethod
    def parse(cls, sql: str, parameters: Mapping[str, Any]) -> _Query:
        tokens = _tokenize(sql)
        used: set[str] = set()

        def take(*expected: str) -> str:
            if not tokens or (expected and tokens[0][1].upper() not in expected):
                found = tokens[0][1] if tokens else "the end"
                raise NotImplementedError(
                    f"fake Cosmos: expected {expected} in {sql!r}, got {found}"
                )
            return tokens.pop(0)[1]

        def peek(word: str) -> bool:
            return bool(tokens) and tokens[0][1].upper() == word

        def value() -> Any:
            kind, text = tokens.pop(0)
            if kind == "param":
                if text not in parameters:
                    raise NotImplementedError(f"fake Cosmos: parameter {text} is not given")
                used.add(text)
                return parameters[text]
            if kind == "number":
                return float(text) if "." in text else int(text)
            if kind == "string":
                return text[1:-1].replace("\\'", "'")
            if kind == "path" and text.lower() in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[text.lower()]
            raise NotImplementedError(f"fake Cosmos: a value was expected in {sql!r}, got {text}")

        def field(alias: str) -> str:
            kind, text = tokens.pop(0)
            head, _, name = text.partition(".")
            if kind != "path" or head != alias or not name or "." in name:
                raise NotImplementedError(f"fake Cosmos: expected {alias}.<field> in {sql!r}")
            return name

        take("SELECT")
        top = None
        if peek("TOP"):
            take("TOP")
            top = int(value())
        if take() != "*":
            raise NotImplementedError(f"fake Cosmos: only SELECT * is supported: {sql!r}")
        take("FROM")
        alias = take()
        conditions: list[tuple[str, str, Any]] = []
        if peek("WHERE"):
            take("WHERE")
            while True:
                name = field(alias)
                kind, op = tokens.pop(0) if tokens else ("", "")
                if kind != "op":
                    raise NotImplementedError(f"fake Cosmos: expected a comparison in {sql!r}")
                conditions.append((name, op, value()))
                if not peek("AND"):
                    break
                take("AND")
        order = None
        if peek("ORDER"):
            take("ORDER")
            take("BY")
            name = field(alias)
            descending = peek("DESC")
            if peek("ASC") or peek("DESC"):
                take()
            order = (name, descending)
        offset, limit = 0, None
        if peek("OFFSET"):
            take("OFFSET")
            offset = int(value())
            take("LIMIT")
            limit = int(value())
        if tokens:
            raise NotImplementedError(
                f"fake Cosmos: unsupported SQL from {tokens[0][1]!r}: {sql!r}"
            )
        if set(parameters) - used:
            raise _bad_request(f"Parameters {sorted(set(parameters) - used)} are not in the query.")
        return cls(conditions, order, top, offset, limit)

    def run(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        matched = [i for i in items if all(_holds(i, *c) for c in self.conditions)]
        if self.order is not None:
            name, descending = self.order
            matched.sort(key=lambda i: _rank(i.get(name, _MISSING)), reverse=descending)
        matched = matched[self.offset :]
        if self.limit is not None:
            matched = matched[: self.limit]
        return matched[: self.top] if self.top is not None else matched


def _tokenize(sql: str) -> list[tuple[str, str]]:
    tokens, position, text = [], 0, sql.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise NotImplementedError(f"fake Cosmos: cannot read {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _holds(item: Mapping[str, Any], name: str, op: str, expected: Any) -> bool:
    """Cosmos comparisons: a missing field or values of different types are undefined,
    and undefined matches nothing."""
    actual = item.get(name, _MISSING)
    if actual is _MISSING or _type(actual) != _type(expected):
        return False
    if op not in ("=", "!=", "<>") and _type(actual) not in ("number", "str"):
        return False
    return _OPERATORS[op](actual, expected)


def _rank(value: Any) -> tuple[int, Any]:
    """Cosmos' order across types: undefined, null, booleans, numbers, strings."""
    order = {"null": 1, "bool": 2, "number": 3, "str": 4}
    if value is _MISSING:
        return (0, 0)
    kind = _type(value)
    if kind not in order:
        raise NotImplementedError(f"fake Cosmos: ORDER BY over a {kind}")
    return (order[kind], value if kind != "null" else 0)
