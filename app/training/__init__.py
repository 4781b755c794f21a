"""Training the document classifier and registering it in MLflow."""
