"""moto_server, plus CloudFormation support for the resource types our template uses that moto lacks.

moto's CloudFormation skips types it does not know (and fails on a GetAtt of one). These small
models create the real objects in moto's own backends (CloudFront distribution, origin access
control, function), so the stack, its outputs and the later API calls
(create_invalidation, get_bucket_policy) behave as on AWS.

Usage: python moto_cfn_server.py PORT   (listens on 127.0.0.1)
"""

from __future__ import annotations

import sys
from typing import Any

from moto.cloudfront.models import cloudfront_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models.instances import Instance as MotoInstance
from moto.utilities.utils import get_partition

# moto files each model under the second part of its module name (moto.<service>.models).
SHIM_MODULE = "moto_shim.conversa_cfn"


def _cloudfront(account_id: str, region_name: str) -> Any:
    return cloudfront_backends[account_id][get_partition(region_name)]


class _Model:
    """Shared plumbing: a physical id and attributes; updates keep the resource, deletes forget it.
    Each model also names CloudFormationModel directly: moto finds models by its __subclasses__()."""

    attributes: dict[str, Any] = {}  # noqa: RUF012

    def __init__(self, physical_id: str, attributes: dict[str, Any]):
        self.physical_id = physical_id
        self.attributes = attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.attributes[attribute_name]

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None

    def is_created(self) -> bool:
        return True


class Distribution(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::Distribution"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Distribution:
        config = cloudformation_json["Properties"]["DistributionConfig"]
        origins = []
        for origin in config["Origins"]:
            item = {"Id": origin["Id"], "DomainName": origin["DomainName"]}
            if "S3OriginConfig" in origin:
                item["S3OriginConfig"] = {"OriginAccessIdentity": ""}
            if "CustomOriginConfig" in origin:
                item["CustomOriginConfig"] = origin["CustomOriginConfig"]
            origins.append(item)
        default = config["DefaultCacheBehavior"]
        moto_config = {
            "CallerReference": resource_name,
            "Comment": config.get("Comment", ""),
            "Enabled": config.get("Enabled", True),
            "Origins": {"Quantity": len(origins), "Items": origins},
            "DefaultCacheBehavior": {
                "TargetOriginId": default["TargetOriginId"],
                "ViewerProtocolPolicy": default["ViewerProtocolPolicy"],
                "CachePolicyId": default.get("CachePolicyId", ""),
            },
            "DefaultRootObject": config.get("DefaultRootObject", ""),
            "PriceClass": config.get("PriceClass", "PriceClass_All"),
        }
        distribution, _, _ = _cloudfront(account_id, region_name).create_distribution(moto_config, [])
        return cls(
            distribution.distribution_id,
            {"Id": distribution.distribution_id, "DomainName": distribution.domain_name},
        )


class OriginAccessControl(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::OriginAccessControl"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> OriginAccessControl:
        config = cloudformation_json["Properties"]["OriginAccessControlConfig"]
        control = _cloudfront(account_id, region_name).create_origin_access_control(config)
        return cls(control.id, {"Id": control.id})


class Function(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::Function"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Function:
        properties = cloudformation_json["Properties"]
        function = _cloudfront(account_id, region_name).create_function(
            properties["Name"], properties["FunctionConfig"], properties["FunctionCode"].encode(), []
        )
        return cls(function.arn, {"FunctionARN": function.arn, "FunctionMetadata.FunctionARN": function.arn})


class ResponseHeadersPolicy(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::ResponseHeadersPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ResponseHeadersPolicy:
        return cls(f"rhp-{resource_name}", {"Id": f"rhp-{resource_name}"})


class BucketPolicy(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> BucketPolicy:
        # Kept, not applied: moto enforces bucket policies and serves plain HTTP, so the TLS-only
        # statement would deny every call. test_template.py checks the policy itself.
        properties = cloudformation_json["Properties"]
        return cls(properties["Bucket"], {})


class EipAssociation(_Model, CloudFormationModel):
    __module__ = SHIM_MODULE

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::EIPAssociation"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> EipAssociation:
        return cls(f"eipassoc-{resource_name[-8:]}", {})


class Instance(MotoInstance, CloudFormationModel):
    """moto's instance has no CloudFormation update: any stack update would drop it. Keep it, as
    AWS does when no property that needs a replacement changed (deploy.py pins the AMI)."""

    __module__ = SHIM_MODULE

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource


if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
