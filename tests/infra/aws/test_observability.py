"""Observability: four alarms, one encrypted topic CloudWatch may publish to."""

from __future__ import annotations

import pulumi
import pytest

from infra.aws.observability import Observability, ObservabilityArgs
from tests.infra.aws.policy_checks import assert_least_privilege, statements
from tests.infra.mocks import Resource, Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOPIC = "arn:aws:sns:eu-west-3:123456789012:obs-alarms"


def _program(email: str | None) -> None:
    observability = Observability(
        "obs",
        ObservabilityArgs(
            api_id="api-1", ocr_function_name="ocr-fn", dlq_name="ocr-dlq", alarm_email=email
        ),
    )
    pulumi.export("topic_arn", observability.topic_arn)
    pulumi.export("alarm_names", observability.alarm_names)


@pytest.fixture(scope="module")
def stack() -> Stack:
    return run_program(lambda: _program("oncall@example.com"))


def _alarm(stack: Stack, role: str) -> dict:
    return stack.named(f"obs-{role}").inputs


def test_every_alarm_notifies_the_topic_and_tolerates_quiet_periods(stack: Stack) -> None:
    alarms: list[Resource] = stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == 4
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [TOPIC], alarm.name
        assert alarm.inputs["okActions"] == [TOPIC], alarm.name
        assert alarm.inputs["treatMissingData"] == "notBreaching", alarm.name
    assert stack.outputs["topic_arn"] == TOPIC
    assert sorted(stack.outputs["alarm_names"]) == sorted(a.name for a in alarms)


def test_api_5xx(stack: Stack) -> None:
    alarm = _alarm(stack, "api-5xx")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["dimensions"] == {"ApiId": "api-1", "Stage": "$default"}
    assert (alarm["statistic"], alarm["threshold"]) == ("Sum", 5)


def test_api_p99_latency(stack: Stack) -> None:
    alarm = _alarm(stack, "api-latency-p99")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ApiGateway", "Latency")
    assert alarm["extendedStatistic"] == "p99"
    assert "statistic" not in alarm
    assert alarm["threshold"] == 2000


def test_anything_in_the_dead_letter_queue(stack: Stack) -> None:
    alarm = _alarm(stack, "dlq-depth")
    assert (alarm["namespace"], alarm["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["dimensions"] == {"QueueName": "ocr-dlq"}
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)


def test_ocr_function_errors(stack: Stack) -> None:
    alarm = _alarm(stack, "ocr-errors")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["dimensions"] == {"FunctionName": "ocr-fn"}


def test_the_topic_is_encrypted_with_a_key_cloudwatch_may_use(stack: Stack) -> None:
    topic = stack.one("aws:sns/topic:Topic").inputs
    key = stack.one("aws:kms/key:Key")
    assert topic["kmsMasterKeyId"] == "arn:aws:kms:eu-west-3:123456789012:obs-alarms-key"
    assert key.inputs["enableKeyRotation"] is True
    cloudwatch = [
        s
        for s in statements(key.inputs["policy"])
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(cloudwatch[0]["Action"])


def test_only_this_accounts_alarms_may_publish(stack: Stack) -> None:
    (statement,) = statements(stack.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Resource"] == [TOPIC]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert_least_privilege(stack)


def test_the_email_subscription_exists_only_when_an_address_is_given(stack: Stack) -> None:
    subscription = stack.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")
    quiet = run_program(lambda: _program(None))
    assert not quiet.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert len(quiet.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")) == 4
