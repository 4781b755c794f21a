"""The document classifier: how it is built and how it is served from memory."""
