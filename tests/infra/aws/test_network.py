"""Network: subnets over the AZs, NAT one or per AZ, routes, flow logs."""

from __future__ import annotations

import pulumi
import pytest

from infra.aws.network import Network, NetworkArgs, carve_subnets
from tests.infra.aws.stacks import policy_documents
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
SUBNET = "aws:ec2/subnet:Subnet"


def _network(**overrides: object) -> Stack:
    def program() -> None:
        net = Network("net", NetworkArgs(**overrides))  # type: ignore[arg-type]
        pulumi.export("private", net.private_subnet_ids)
        pulumi.export("public", net.public_subnet_ids)
        pulumi.export("zones", net.availability_zones)

    return run_program(program)


@pytest.fixture(scope="module")
def shared_nat() -> Stack:
    return _network(az_count=2, nat_gateways="one", log_retention_days=14)


@pytest.fixture(scope="module")
def nat_per_az() -> Stack:
    return _network(az_count=3, nat_gateways="per-az")


def _subnets(stack: Stack, tier: str) -> list[dict[str, object]]:
    return [r.inputs for r in stack.of_type(SUBNET) if r.inputs["tags"]["tier"] == tier]


def test_each_az_gets_a_public_and_a_private_subnet(nat_per_az: Stack) -> None:
    zones = nat_per_az.outputs["zones"]
    assert zones == ["eu-west-3a", "eu-west-3b", "eu-west-3c"]
    for tier in ("public", "private"):
        subnets = _subnets(nat_per_az, tier)
        assert sorted(s["availabilityZone"] for s in subnets) == zones
        assert not any(s["mapPublicIpOnLaunch"] for s in subnets)
    assert len(nat_per_az.outputs["private"]) == 3
    assert ("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available"}) in [
        (token, {k: v for k, v in args.items() if k == "state"}) for token, args in nat_per_az.calls
    ]


def test_one_nat_gateway_serves_every_private_subnet(shared_nat: Stack) -> None:
    (nat,) = shared_nat.of_type(NAT)
    assert nat.inputs["subnetId"] == "net-public-0-id"
    private_routes = [r for r in shared_nat.of_type(ROUTE) if "private" in r.name]
    assert len(private_routes) == 2
    assert {r.inputs["natGatewayId"] for r in private_routes} == {"net-nat-0-id"}


def test_per_az_nat_keeps_each_private_subnet_in_its_own_az(nat_per_az: Stack) -> None:
    nats = {r.id: r.inputs["subnetId"] for r in nat_per_az.of_type(NAT)}
    assert sorted(nats.values()) == ["net-public-0-id", "net-public-1-id", "net-public-2-id"]
    routes = {
        r.name: r.inputs["natGatewayId"] for r in nat_per_az.of_type(ROUTE) if "private" in r.name
    }
    for index in range(3):
        nat = routes[f"net-private-default-{index}"]
        assert nats[nat] == f"net-public-{index}-id"
    assert len(nat_per_az.of_type("aws:ec2/eip:Eip")) == 3


def test_public_subnets_route_to_the_internet_gateway(shared_nat: Stack) -> None:
    (route,) = [r for r in shared_nat.of_type(ROUTE) if r.name == "net-public-default"]
    assert route.inputs == {
        "routeTableId": "net-public-rt-id",
        "destinationCidrBlock": "0.0.0.0/0",
        "gatewayId": "net-igw-id",
    }


def test_flow_logs_go_to_cloudwatch_with_retention(shared_nat: Stack) -> None:
    flow = shared_nat.one("aws:ec2/flowLog:FlowLog").inputs
    assert (flow["trafficType"], flow["logDestinationType"]) == ("ALL", "cloud-watch-logs")
    group = shared_nat.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 14
    assert flow["logDestination"].endswith(f":{group.name}")
    assert flow["iamRoleArn"].endswith(":net-flow-logs-role")
    trust, policy = [doc for name, doc in policy_documents(shared_nat)]
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    (statement,) = policy["Statement"]
    assert "*" not in statement["Resource"]


def test_the_default_security_group_is_emptied(shared_nat: Stack) -> None:
    default = shared_nat.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert not default.get("ingress") and not default.get("egress")


def test_subnets_are_carved_without_overlap() -> None:
    public, private = carve_subnets("10.0.0.0/16", 3)
    assert public == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
    assert private == ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
    with pytest.raises(ValueError, match="at most 8 AZs"):
        carve_subnets("10.0.0.0/16", 9)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"az_count": 1}, "at least 2"),
        ({"nat_gateways": "two"}, "nat_gateways must be one of"),
        ({"az_count": 4}, "has 3 available AZs"),
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    errors: list[str] = []

    def program() -> None:
        try:
            Network("net", NetworkArgs(**overrides))  # type: ignore[arg-type]
        except ValueError as exc:
            errors.append(str(exc))

    stack = run_program(program)
    assert errors and message in errors[0]
    assert stack.resources == []
