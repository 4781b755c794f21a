"""Model registry errors shared by the registry adapters and services."""


class ModelNotFoundError(Exception):
    """No model version answers to the name/alias asked for."""
