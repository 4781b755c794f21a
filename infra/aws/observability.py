"""Alarms on what users feel: API errors and latency, documents that fail OCR.

Every alarm notifies one SNS topic (and its email subscriber, if any) when it fires and
when it clears. The topic is encrypted with a key of its own: CloudWatch alarms cannot
publish to a topic under the AWS managed ``alias/aws/sns`` key, whose policy nobody can
extend to let CloudWatch use it.

Example::

    Observability("observability", ObservabilityArgs(
        api_id=api.api_id, ocr_function_name=docs.ocr_function_name,
        dlq_name=docs.dlq_name, alarm_email="oncall@example.com",
    ))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_aws import (
    cloudwatch,
    get_caller_identity_output,
    get_partition_output,
    get_region_output,
    kms,
    sns,
)

from infra.aws.resource_policies import ResourceStatement, resource_policy


@dataclass
class ObservabilityArgs:
    api_id: pulumi.Input[str]
    ocr_function_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    api_stage: pulumi.Input[str] = "$default"
    alarm_email: str | None = None
    latency_p99_ms: float = 2000
    error_5xx_threshold: float = 5
    period_seconds: int = 300
    evaluation_periods: int = 1
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.period_seconds < 60 or self.period_seconds % 60:
            raise ValueError(f"period_seconds must be a multiple of 60, not {self.period_seconds}.")
        if self.evaluation_periods < 1:
            raise ValueError("evaluation_periods must be at least 1.")


class Observability(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    api_5xx_alarm_name: pulumi.Output[str]
    api_latency_alarm_name: pulumi.Output[str]
    dlq_alarm_name: pulumi.Output[str]
    ocr_errors_alarm_name: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:Observability", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        self._account_id = get_caller_identity_output(opts=invoke).account_id
        self._partition = get_partition_output(opts=invoke).partition
        self._region = get_region_output(opts=invoke).region

        topic = self._build_topic()
        api = {"ApiId": args.api_id, "Stage": args.api_stage}
        api_5xx = self._build_alarm(
            "api-5xx",
            topic,
            description="The API answered 5xx errors.",
            namespace="AWS/ApiGateway",
            metric_name="5xx",
            dimensions=api,
            statistic="Sum",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=args.error_5xx_threshold,
        )
        api_latency = self._build_alarm(
            "api-latency-p99",
            topic,
            description=f"The API's p99 latency is above {args.latency_p99_ms:g} ms.",
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions=api,
            extended_statistic="p99",
            comparison_operator="GreaterThanThreshold",
            threshold=args.latency_p99_ms,
        )
        dlq = self._build_alarm(
            "dlq-depth",
            topic,
            description="Uploads failed OCR on every try and wait in the dead-letter queue.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": args.dlq_name},
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
        )
        ocr_errors = self._build_alarm(
            "ocr-errors",
            topic,
            description="The OCR function failed whole invocations.",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": args.ocr_function_name},
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
        )

        self.topic_arn = topic.arn
        self.api_5xx_alarm_name = api_5xx.name
        self.api_latency_alarm_name = api_latency.name
        self.dlq_alarm_name = dlq.name
        self.ocr_errors_alarm_name = ocr_errors.name
        self.alarm_names = pulumi.Output.all(
            api_5xx.name, api_latency.name, dlq.name, ocr_errors.name
        )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "api_5xx_alarm_name": self.api_5xx_alarm_name,
                "api_latency_alarm_name": self.api_latency_alarm_name,
                "dlq_alarm_name": self.dlq_alarm_name,
                "ocr_errors_alarm_name": self.ocr_errors_alarm_name,
                "alarm_names": self.alarm_names,
            }
        )

    def _build_topic(self) -> sns.Topic:
        args = self._args
        key = kms.Key(
            f"{self._name}-alarms-key",
            description="Encrypts the alarm topic; CloudWatch may use it to publish",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=resource_policy(
                [
                    ResourceStatement(
                        principal={
                            "AWS": pulumi.Output.concat(
                                "arn:", self._partition, ":iam::", self._account_id, ":root"
                            )
                        },
                        actions=["kms:*"],
                        resources=["*"],
                        wildcard_reason=(
                            "AWS's default key policy: the account's IAM policies decide who"
                            " manages the key; without it nobody could"
                        ),
                    ),
                    ResourceStatement(
                        principal={"Service": "cloudwatch.amazonaws.com"},
                        actions=["kms:Decrypt", "kms:GenerateDataKey"],
                        resources=["*"],
                    ),
                ]
            ),
            tags=args.tags,
            opts=self._child,
        )
        topic = sns.Topic(
            f"{self._name}-alarms",
            kms_master_key_id=key.arn,
            tags=args.tags,
            opts=self._child,
        )
        sns.TopicPolicy(
            f"{self._name}-alarms-policy",
            arn=topic.arn,
            policy=resource_policy(
                [
                    ResourceStatement(
                        principal={"Service": "cloudwatch.amazonaws.com"},
                        actions=["sns:Publish"],
                        resources=[topic.arn],
                        conditions={
                            "ArnLike": {
                                "aws:SourceArn": pulumi.Output.concat(
                                    "arn:",
                                    self._partition,
                                    ":cloudwatch:",
                                    self._region,
                                    ":",
                                    self._account_id,
                                    ":alarm:*",
                                )
                            },
                            "StringEquals": {"aws:SourceAccount": self._account_id},
                        },
                    )
                ]
            ),
            opts=self._child,
        )
        if args.alarm_email:
            sns.TopicSubscription(
                f"{self._name}-alarms-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args.alarm_email,
                opts=self._child,
            )
        return topic

    def _build_alarm(
        self, role: str, topic: sns.Topic, *, description: str, **metric: Any
    ) -> cloudwatch.MetricAlarm:
        return cloudwatch.MetricAlarm(
            f"{self._name}-{role}",
            alarm_description=description,
            period=self._args.period_seconds,
            evaluation_periods=self._args.evaluation_periods,
            # No traffic is not an outage: quiet periods keep the alarm OK.
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=self._args.tags,
            opts=self._child,
            **metric,
        )
