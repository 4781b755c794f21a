"""Azure adapters: Blob storage, Cosmos DB, Container Apps jobs. The Azure SDKs are imported
inside each adapter, so the core and the other clouds never pay for them; credentials come
from ``DefaultAzureCredential`` in the cloud and a connection string only for emulators."""
