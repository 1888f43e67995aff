"""Pull access to one container image in ECR, by its URI, for a role that SageMaker assumes."""

from __future__ import annotations

from aws_cdk import Aws, Fn, Token
from aws_cdk import aws_iam as iam

from cdk_constructs.nag import acknowledge


def repository_arn(image_uri: str) -> str:
    """The ECR repository ARN of ``image_uri`` (``<account>.dkr.ecr.<region>.<domain>/<repo>[:tag]``).

    An image looked up per region (``Fn::FindInMap``) is split with intrinsic functions at deploy time, so
    the grant names one repository in one account either way.
    """
    if Token.is_unresolved(image_uri):
        account = Fn.select(0, Fn.split(".", image_uri))
        region = Fn.select(3, Fn.split(".", image_uri))
        repository = Fn.select(0, Fn.split(":", Fn.select(1, Fn.split("/", image_uri))))
    else:
        registry, _, path = image_uri.partition("/")
        account, region = registry.split(".")[0], registry.split(".")[3]
        repository = path.split("@")[0].split(":")[0]
    return f"arn:{Aws.PARTITION}:ecr:{region}:{account}:repository/{repository}"


def grant_pull(role: iam.IRole, image_uri: str) -> None:
    """Let ``role`` pull ``image_uri``: layer reads on that repository, and the account-wide ECR login."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullImage",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=[repository_arn(image_uri)],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    acknowledge(
        role,
        "ecr:GetAuthorizationToken supports no resource-level permissions; image reads are limited to one repository.",
        "AwsSolutions-IAM5[Resource::*]",
    )
