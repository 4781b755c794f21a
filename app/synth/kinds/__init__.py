"""Content builders, one module per document class."""
