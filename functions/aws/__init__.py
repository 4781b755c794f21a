"""AWS Lambda entrypoints: the OCR function and the admin authorizer of /mlflow."""
