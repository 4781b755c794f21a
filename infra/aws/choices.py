"""The values some AWS settings choose among, shared by the settings' checks
(infra/aws/config.py) and the components that act on them. Imports no provider package."""

from __future__ import annotations

# How the app runs: an ECS Fargate service behind an internal NLB, or a container Lambda.
COMPUTE_MODES = ("fargate", "lambda")
# One NAT gateway for the VPC, or one per availability zone (survives an AZ outage).
NAT_MODES = ("one", "per-az")
# mlops:mfa -> Cognito's MFA configuration.
MFA_MODES = {"off": "OFF", "optional": "OPTIONAL", "on": "ON"}
