"""Identity: verifying the bearer JWTs a gateway passes through, and a local dev issuer."""
