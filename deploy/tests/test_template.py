"""The CloudFormation template: linters clean, every suppression explained, the promised shape."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "aws" / "template.yaml"
VENV_BIN = Path(sys.executable).parent
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cfn_yaml(str(TEMPLATE))


def tool(name: str) -> str:
    path = VENV_BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed (make install-dev)"
    return found


def test_cfn_lint_finds_nothing() -> None:
    result = subprocess.run([tool("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_unexplained(template: dict[str, Any]) -> None:
    result = subprocess.run(  # noqa: S603
        [tool("checkov"), "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    failed = report.get("results", {}).get("failed_checks", [])
    assert not failed, [(check["check_id"], check["resource"]) for check in failed]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    skipped = {check["check_id"] for check in report["results"]["skipped_checks"]}
    declared = {
        skip["id"]
        for resource in template["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert skipped == declared


def test_every_suppression_has_a_reason(template: dict[str, Any]) -> None:
    for name, resource in template["Resources"].items():
        metadata = resource.get("Metadata", {})
        for skip in metadata.get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) >= 20, f"{name}: {skip['id']} needs a reason"
        assert "cfn-lint" not in metadata, f"{name}: cfn-lint suppressions are not expected"


def test_api_behaviour_forwards_everything_and_caches_nothing(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (api,) = [behaviour for behaviour in config["CacheBehaviors"] if behaviour["PathPattern"] == "/api/*"]
    assert api["TargetOriginId"] == "api"
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert api["Compress"] is False
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert "FunctionAssociations" not in api, "the SPA rewrite must never touch /api/*"
    assert api["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_default_behaviour_serves_the_spa_from_s3(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "web"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    web = next(origin for origin in config["Origins"] if origin["Id"] == "web")
    assert web["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert web["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_metrics_are_never_routed_to_the_api(template: dict[str, Any]) -> None:
    """GET /metrics is served at the root: only /api/* reaches the API, so the public never scrapes it."""
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    for behaviour in config["CacheBehaviors"]:
        if behaviour["TargetOriginId"] == "api":
            assert behaviour["PathPattern"].startswith("/api/"), behaviour["PathPattern"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "web"


def test_security_headers(template: dict[str, Any]) -> None:
    headers = template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    for directive in ("script-src 'self';", "frame-ancestors 'none'", "connect-src 'self'"):
        assert directive in csp
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"


def test_server_is_reachable_only_from_cloudfront(template: dict[str, Any]) -> None:
    group = template["Resources"]["AppSecurityGroup"]["Properties"]
    (ingress,) = group["SecurityGroupIngress"]
    assert ingress["SourcePrefixListId"] == {"Ref": "CloudFrontPrefixListId"}
    assert (ingress["FromPort"], ingress["ToPort"]) == (8000, 8000)
    ssh = template["Resources"]["SshIngress"]
    assert ssh["Condition"] == "HasSsh"
    assert ssh["Properties"]["CidrIp"] == {"Ref": "SshCidr"}


def test_instance_is_free_tier_and_pinned(template: dict[str, Any]) -> None:
    assert template["Parameters"]["InstanceType"]["Default"] == "t2.micro"
    assert template["Parameters"]["LatestAmiId"]["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023-")
    role = template["Resources"]["AppRole"]["Properties"]
    assert any("AmazonSSMManagedInstanceCore" in json.dumps(arn) for arn in role["ManagedPolicyArns"])
    resources = {resource["Type"] for resource in template["Resources"].values()}
    assert not resources & {
        "AWS::EC2::NatGateway",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::RDS::DBInstance",
    }


def test_spa_function_rewrites_only_paths_that_are_not_files(template: dict[str, Any]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    code = template["Resources"]["SpaRewriteFunction"]["Properties"]["FunctionCode"]
    cases = {
        "/": "/index.html",
        "/c/42": "/index.html",
        "/settings/": "/index.html",
        "/index.html": "/index.html",
        "/assets/index-Cpe8hzh0.js": "/assets/index-Cpe8hzh0.js",
        "/favicon.svg": "/favicon.svg",
        "/api/chat": "/api/chat",
        "/api/conversations/7": "/api/conversations/7",
    }
    script = (
        code
        + f"\nconst cases = {json.dumps(list(cases))};\n"
        + ("console.log(JSON.stringify(cases.map((uri) => handler({request: {uri}}).uri)));")
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)  # noqa: S603
    assert dict(zip(cases, json.loads(result.stdout), strict=True)) == cases


def rendered_user_data(template: dict[str, Any]) -> str:
    """The user data with every ${Param} filled by a placeholder, as Fn::Sub would."""
    body = template["Resources"]["AppInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    body = re.sub(r"\$\{(?!!)[A-Za-z0-9:.]+\}", "placeholder", body)
    return body.replace("${!", "${")


def test_user_data_and_its_scripts_are_valid_bash(template: dict[str, Any], tmp_path: Path) -> None:
    user_data = rendered_user_data(template)
    scripts = {"user-data": user_data}
    for name in ("conversa-update", "conversa-backup"):
        match = re.search(rf"cat > /usr/local/bin/{name} <<'EOF'\n(.*?)\nEOF\n", user_data, re.S)
        assert match, name
        scripts[name] = match.group(1)
    for name, text in scripts.items():
        path = tmp_path / name
        path.write_text(text)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)  # noqa: S603, S607
        assert result.returncode == 0, f"{name}: {result.stderr}"
    update = scripts["conversa-update"]
    assert 'ref="${1:-}"' in update
    assert "docker compose -f docker-compose.yml up -d --build" in update  # never the dev override
    assert "ENV=production" in update
    for needed in ("SECRET_KEY", "GOOGLE_API_KEY", "--with-decryption", "BACKUP_S3_BUCKET"):
        assert needed in update
    assert "python -m app.cli backup --s3" in scripts["conversa-backup"]
    assert "conversa-backup.timer" in user_data
    assert "OnCalendar=" in user_data


def test_uploads_bucket_is_optional_private_and_granted_to_the_server(template: dict[str, Any]) -> None:
    assert template["Parameters"]["UploadsInS3"]["Default"] == "false"
    bucket = template["Resources"]["UploadsBucket"]
    assert bucket["Condition"] == "UseS3Uploads"
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    statements = template["Resources"]["AppRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = [s["Fn::If"][1] for s in statements if "Fn::If" in s]
    assert {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],) for s in granted} == {
        ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"),
        ("s3:ListBucket",),
    }
    assert all(s["Fn::If"][0] == "UseS3Uploads" for s in statements if "Fn::If" in s)
    parameter = template["Resources"]["UploadsBucketParameter"]
    assert parameter["Properties"]["Value"] == {"Ref": "UploadsBucket"}
    assert "UPLOADS_S3_BUCKET" in rendered_user_data(template)


def test_uploaded_files_keep_their_sandbox_policy_through_cloudfront(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    patterns = [behaviour["PathPattern"] for behaviour in config["CacheBehaviors"]]
    assert patterns.index("/api/uploads/*") < patterns.index("/api/*")  # the first match wins
    uploads = config["CacheBehaviors"][patterns.index("/api/uploads/*")]
    assert uploads["CachePolicyId"] == CACHING_DISABLED
    assert uploads["ResponseHeadersPolicyId"] == {"Ref": "UploadsHeadersPolicy"}
    headers = template["Resources"]["UploadsHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"].startswith("sandbox;")
    assert headers["ContentTypeOptions"]["Override"] is True


def test_shared_links_are_cached_for_the_minute_the_origin_allows(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    patterns = [behaviour["PathPattern"] for behaviour in config["CacheBehaviors"]]
    assert patterns.index("/api/shared/*") < patterns.index("/api/*")  # the first match wins
    shared = config["CacheBehaviors"][patterns.index("/api/shared/*")]
    assert shared["CachePolicyId"] != CACHING_DISABLED  # honours Cache-Control: public, max-age=60
    assert shared["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert "OriginRequestPolicyId" not in shared  # no Authorization (or any viewer header) in the cache key
