"""Local embedded adapters: filesystem objects and SQLite records."""
