"""Pulumi programs per cloud (``infra/aws``, ``infra/azure``, ``infra/gcp``)."""
