"""GCP adapters: GCS, Firestore, Cloud Run jobs. Each imports its google-cloud SDK inside
the adapter, so the core and the other clouds never pay for it; without the SDK, the error
names the extra to install (``pip install 'mlops-multicloud[gcp]'``)."""
