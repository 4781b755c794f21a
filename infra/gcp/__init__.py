"""The GCP program's components."""
