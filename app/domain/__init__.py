"""Domain types of the document service: no I/O, no SDKs."""
