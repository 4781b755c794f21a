"""The Azure program's components."""
