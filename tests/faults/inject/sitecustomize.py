"""Fault injection for the fault suite's app subprocess (on its PYTHONPATH only).

``MLOPS_FAULT_KILL_AT`` names one step of a document's way through the local system;
the process SIGKILLs itself there, the first time the step is reached, as a power cut
or an OOM kill would stop it. Nothing in the app knows about this file.

- ``upload-stored``: the record is created, the bytes are not stored yet;
- ``claimed``: the pipeline has claimed the record (committed);
- ``ocr``: OCR has started;
- ``completed``: the result is committed, nothing after it ran.
"""

import os

_AT = os.environ.get("MLOPS_FAULT_KILL_AT")


def _die() -> None:
    import signal
    import time

    # The worker thread stops here; the pause lets the request that handed it the
    # document send its 202 first, as it would with a real OCR taking seconds.
    time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)


def _install(at: str) -> None:
    import functools

    import app.bootstrap
    from app.adapters.local.objects import LocalObjectStore
    from app.adapters.local.records import SqliteDocumentRecords

    def after(cls: type, name: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if result is not None:
                _die()
            return result

        setattr(cls, name, wrapper)

    if at == "upload-stored":
        original_put = LocalObjectStore.put

        def put(self, key, data, *, content_type):
            if key.startswith("uploads/"):
                import signal

                os.kill(os.getpid(), signal.SIGKILL)
            return original_put(self, key, data, content_type=content_type)

        LocalObjectStore.put = put
    elif at == "claimed":
        after(SqliteDocumentRecords, "claim")
    elif at == "completed":
        after(SqliteDocumentRecords, "complete")
    elif at == "ocr":
        original_build = app.bootstrap.build_reader

        def build_reader(settings):
            original_build(settings)

            def read(data):
                _die()

            return read

        app.bootstrap.build_reader = build_reader
    else:
        raise SystemExit(f"MLOPS_FAULT_KILL_AT={at!r} names no step")


if _AT:
    _install(_AT)
