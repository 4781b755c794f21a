import os

# Tesseract spawns one thread per core by default, which is 5-7x slower on small machines.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Session fixtures of the emulators, shared by tests/ports and tests/cloud: `azurite` (Azure
# Blob, the npm package in .tools), `gcs_emulator` (gcp-storage-emulator, in-process) and
# `firestore_emulator` (Google's, from the Google Cloud CLI's emulator package).
# `trained` (the default model, trained once per session) serves tests/e2e and tests/faults.
pytest_plugins = [
    "tests.trained",
    "tests.cloud.azure.azurite",
    "tests.cloud.gcp.gcs_emulator",
    "tests.cloud.gcp.firestore_emulator",
]
