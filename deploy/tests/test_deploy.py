"""deploy.py end to end against a local moto server: stack, uploads with cache headers, invalidation."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest

DEPLOY_PY = Path(__file__).resolve().parents[1] / "aws" / "deploy.py"
IMMUTABLE = "public, max-age=31536000, immutable"
WEB_FILES = {
    "index.html": (
        "<!doctype html><script type=module src=/assets/index-Cpe8hzh0.js></script>",
        "text/html; charset=utf-8",
    ),
    "assets/index-Cpe8hzh0.js": ("console.log('app')", "text/javascript; charset=utf-8"),
    "assets/index-CydhHBcX.css": ("body{margin:0}", "text/css; charset=utf-8"),
    "assets/logo-D9x1.woff2": ("font", "font/woff2"),
    "favicon.svg": ("<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    "theme-init.js": ("document.documentElement.dataset.theme='light'", "text/javascript; charset=utf-8"),
}


def load_deploy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conversa_deploy", DEPLOY_PY)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


deploy = load_deploy_module()


def run_deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEPLOY_PY), *args], capture_output=True, text=True, timeout=300)  # noqa: S603


@pytest.fixture
def frontend(tmp_path: Path) -> Path:
    for key, (body, _) in WEB_FILES.items():
        path = tmp_path / "dist" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return tmp_path


def client(service: str, endpoint: str):
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)


@pytest.mark.parametrize(
    ("key", "cache_control"),
    [
        ("index.html", "no-cache"),
        ("assets/index-Cpe8hzh0.js", IMMUTABLE),
        ("assets/sub/chunk-AbC.css", IMMUTABLE),
        ("theme-init.js", "no-cache"),
        ("favicon.svg", "no-cache"),
    ],
)
def test_cache_control(key: str, cache_control: str) -> None:
    assert deploy.cache_control_for(key) == cache_control


def test_index_html_is_uploaded_last_and_assets_first() -> None:
    order = deploy.upload_order(["index.html", "favicon.svg", "assets/b.js", "assets/a.css"])
    assert order == ["assets/a.css", "assets/b.js", "favicon.svg", "index.html"]


def test_deploy_creates_the_stack_uploads_and_invalidates(aws_env: str, frontend: Path, tmp_path: Path) -> None:
    stack_name = f"conversa-{tmp_path.name[-12:].replace('_', '-')}".rstrip("-")
    result = run_deploy(
        "--stack-name", stack_name, "--parameter-prefix", f"/{stack_name}", "--frontend-dir", str(frontend),
        "deploy", "--skip-build", "--git-url", "https://example.com/conversa.git", "--git-ref", "v1.0.0",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    site_url = result.stdout.strip().splitlines()[-1]
    assert site_url.startswith("https://")
    assert site_url.endswith(".cloudfront.net")

    stack = client("cloudformation", aws_env).describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    assert outputs["SiteUrl"] == site_url
    parameters = {parameter["ParameterKey"]: parameter["ParameterValue"] for parameter in stack["Parameters"]}
    assert parameters["InstanceType"] == "t2.micro"
    assert parameters["CloudFrontPrefixListId"].startswith("pl-")  # looked up by name
    assert parameters["GitRef"] == "v1.0.0"

    s3 = client("s3", aws_env)
    listed = {item["Key"] for item in s3.list_objects_v2(Bucket=outputs["WebBucketName"])["Contents"]}
    assert listed == set(WEB_FILES)
    for key, (body, content_type) in WEB_FILES.items():
        head = s3.head_object(Bucket=outputs["WebBucketName"], Key=key)
        assert head["ContentType"] == content_type, key
        assert head["CacheControl"] == (IMMUTABLE if key.startswith("assets/") else "no-cache"), key
        assert head["ContentLength"] == len(body.encode())

    cloudfront = client("cloudfront", aws_env)
    invalidations = cloudfront.list_invalidations(DistributionId=outputs["DistributionId"])["InvalidationList"]
    assert invalidations["Quantity"] == 1
    invalidation = cloudfront.get_invalidation(
        DistributionId=outputs["DistributionId"], Id=invalidations["Items"][0]["Id"]
    )["Invalidation"]
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/index.html"]

    ssm = client("ssm", aws_env)
    secret = ssm.get_parameter(Name=f"/{stack_name}/SECRET_KEY", WithDecryption=True)["Parameter"]
    assert secret["Type"] == "SecureString"
    assert len(secret["Value"]) >= 32
    assert ssm.get_parameter(Name=f"/{stack_name}/GIT_REF")["Parameter"]["Value"] == "v1.0.0"

    ec2 = client("ec2", aws_env)
    (reservation,) = ec2.describe_instances(InstanceIds=[outputs["InstanceId"]])["Reservations"]
    assert reservation["Instances"][0]["InstanceType"] == "t2.micro"
    group_id = client("cloudformation", aws_env).describe_stack_resource(
        StackName=stack_name, LogicalResourceId="AppSecurityGroup"
    )["StackResourceDetail"]["PhysicalResourceId"]
    groups = ec2.describe_security_groups(GroupIds=[group_id])
    # moto drops prefix-list rules; test_template.py checks the rule itself. Nothing is open to all.
    for rule in groups["SecurityGroups"][0]["IpPermissions"]:
        assert all(ip_range["CidrIp"] != "0.0.0.0/0" for ip_range in rule.get("IpRanges", []))

    # A second deploy updates in place: same server (AMI pinned), new ref run on it, new invalidation.
    result = run_deploy(
        "--stack-name", stack_name, "--parameter-prefix", f"/{stack_name}", "--frontend-dir", str(frontend),
        "deploy", "--skip-build", "--git-url", "https://example.com/conversa.git", "--git-ref", "v1.1.0",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    stack = client("cloudformation", aws_env).describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    updated = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    assert updated["InstanceId"] == outputs["InstanceId"]
    assert ssm.get_parameter(Name=f"/{stack_name}/GIT_REF")["Parameter"]["Value"] == "v1.1.0"
    commands = ssm.list_commands(InstanceId=outputs["InstanceId"])["Commands"]
    assert any(command["Parameters"]["commands"] == ["/usr/local/bin/conversa-update v1.1.0"] for command in commands)
    invalidations = cloudfront.list_invalidations(DistributionId=outputs["DistributionId"])["InvalidationList"]
    assert invalidations["Quantity"] == 2


def test_deploy_without_a_build_says_what_to_do(aws_env: str, tmp_path: Path) -> None:
    result = run_deploy(
        "--stack-name", "conversa-nobuild", "--frontend-dir", str(tmp_path),
        "deploy", "--skip-build", "--git-url", "https://example.com/conversa.git",
    )  # fmt: skip
    assert result.returncode == 1
    assert "index.html not found" in result.stdout


def test_check_validates_without_deploying(aws_env: str) -> None:
    result = run_deploy("--stack-name", "conversa-check", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cfn-lint: ok" in result.stdout
    assert "checkov: ok" in result.stdout
    assert "ValidateTemplate: ok" in result.stdout
    stacks = client("cloudformation", aws_env).list_stacks()["StackSummaries"]
    assert not [stack for stack in stacks if stack["StackName"] == "conversa-check"]
