"""Services: the use cases, written against ports only."""
