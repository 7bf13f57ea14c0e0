#!/usr/bin/env python3
"""Deploy Conversa to AWS: the CloudFormation stack, the web app in S3 behind CloudFront, the API on EC2.

    deploy.py deploy        create or update the stack (and wait), build and upload the web app,
                            invalidate /index.html, update the server's app, print the URL
    deploy.py check         validate without deploying: cfn-lint, checkov, CloudFormation ValidateTemplate
    deploy.py update-app    fetch the git ref on the server and rebuild the container (Session Manager)
    deploy.py secrets       store GOOGLE_API_KEY / SECRET_KEY as SSM SecureStrings
    deploy.py destroy       empty the web bucket and delete the stack (the backups bucket is kept)

AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, ...). AWS_ENDPOINT_URL
points every client elsewhere (the tests use a local moto server).
"""

from __future__ import annotations

import argparse
import getpass
import mimetypes
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

REPO_DIR = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).resolve().with_name("template.yaml")
FRONTEND_DIR = REPO_DIR / "frontend"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
TERMINAL_FAILURES = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".wasm": "application/wasm",
}


def log(message: str) -> None:
    print(f"[deploy] {message}", flush=True)


class DeployError(Exception):
    """A failure the person running the command can act on."""


@dataclass
class Aws:
    """boto3 clients sharing one session, region and (optionally) endpoint."""

    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]


# ------------------------------------------------------------------ web app upload


def cache_control_for(key: str) -> str:
    """Vite puts hashed file names under assets/: cache them forever; everything else revalidates."""
    return IMMUTABLE if key.startswith("assets/") else NO_CACHE


def content_type_for(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def upload_order(keys: list[str]) -> list[str]:
    """Hashed assets first, index.html last: a visitor never gets a page whose files are missing."""

    def rank(key: str) -> tuple[int, str]:
        if key == "index.html":
            return (2, key)
        return (0 if key.startswith("assets/") else 1, key)

    return sorted(keys, key=rank)


def upload_web(aws: Aws, bucket: str, dist: Path) -> int:
    if not (dist / "index.html").is_file():
        raise DeployError(f"{dist}/index.html not found: build the web app (or drop --skip-build)")
    s3 = aws.client("s3")
    files = {path.relative_to(dist).as_posix(): path for path in dist.rglob("*") if path.is_file()}
    for key in upload_order(list(files)):
        s3.upload_file(
            str(files[key]),
            bucket,
            key,
            ExtraArgs={"ContentType": content_type_for(key), "CacheControl": cache_control_for(key)},
        )
    log(f"uploaded {len(files)} files to s3://{bucket}")
    return len(files)


def invalidate_index(aws: Aws, distribution_id: str) -> str:
    response = aws.client("cloudfront").create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": str(time.time_ns())},
    )
    invalidation_id = response["Invalidation"]["Id"]
    log(f"invalidation {invalidation_id} of /index.html on {distribution_id}")
    return invalidation_id


def build_web(frontend: Path) -> None:
    if shutil.which("npm") is None:
        raise DeployError("npm not found: install Node.js 20+ or pass --skip-build with a built frontend/dist")
    log("building the web app (npm ci && npm run build)")
    for command in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
        subprocess.run(command, cwd=frontend, check=True)  # noqa: S603


# ------------------------------------------------------------------ stack


def stack_status(aws: Aws, stack_name: str) -> dict[str, Any] | None:
    try:
        return aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def wait_for_stack(aws: Aws, stack_name: str, poll_seconds: float) -> dict[str, Any]:
    """Poll until the stack leaves *_IN_PROGRESS, printing its events as they come."""
    cloudformation = aws.client("cloudformation")
    seen: set[str] = set()
    started = time.monotonic()
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        for event in reversed(events):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                reason = f" - {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
                log(f"  {event['LogicalResourceId']}: {event['ResourceStatus']}{reason}")
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            log(f"stack {stack_name}: {status} after {time.monotonic() - started:.0f} s")
            if status in TERMINAL_FAILURES:
                raise DeployError(f"stack {stack_name} ended in {status}; see the events above")
            return stack
        time.sleep(poll_seconds)


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def git_remote_url() -> str | None:
    try:
        url = subprocess.run(  # noqa: S603
            ["git", "-C", str(REPO_DIR), "remote", "get-url", "origin"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    # The server clones over HTTPS without keys: git@host:owner/repo -> https://host/owner/repo
    if url.startswith("git@") and ":" in url:
        host, path = url[4:].split(":", 1)
        url = f"https://{host}/{path}"
    return url or None


def cloudfront_prefix_list_id(aws: Aws) -> str:
    response = aws.client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]
    )
    lists = response.get("PrefixLists", [])
    if not lists:
        raise DeployError(f"prefix list {CLOUDFRONT_PREFIX_LIST} not found in {aws.region}; pass --prefix-list-id")
    return lists[0]["PrefixListId"]


def default_vpc_id(aws: Aws) -> str:
    vpcs = aws.client("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise DeployError("this region has no default VPC: pass --vpc-id and --subnet-id (a public subnet)")
    return vpcs[0]["VpcId"]


def running_ami(aws: Aws, instance_id: str) -> str | None:
    reservations = aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    instances = [instance for reservation in reservations for instance in reservation["Instances"]]
    return instances[0]["ImageId"] if instances else None


def stack_parameters(aws: Aws, args: argparse.Namespace, existing: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every parameter, computed for this deploy; optional ones not given keep their previous value."""
    git_url = args.git_url or os.environ.get("CONVERSA_GIT_URL") or git_remote_url()
    if not git_url:
        raise DeployError("no git URL: pass --git-url or set CONVERSA_GIT_URL (the server clones the app from it)")
    values: dict[str, str | None] = {
        "GitRepositoryUrl": git_url,
        "GitRef": args.git_ref,
        "ParameterPrefix": args.parameter_prefix,
        "CloudFrontPrefixListId": args.prefix_list_id or cloudfront_prefix_list_id(aws),
        "VpcId": args.vpc_id or default_vpc_id(aws),
        "SubnetId": args.subnet_id,
        "InstanceType": args.instance_type,
        "LlmProvider": args.llm_provider,
        "UploadsInS3": args.uploads_in_s3,
        "SshCidr": args.ssh_cidr,
        "KeyName": args.key_name,
        "PinnedAmiId": None,
    }
    if args.replace_server:
        values["PinnedAmiId"] = ""  # the newest AMI: a new server
    elif existing is not None:
        instance_id = outputs_of(existing).get("InstanceId")
        # A new AMI would replace the server and the SQLite volume on it: keep the one it runs.
        values["PinnedAmiId"] = (running_ami(aws, instance_id) if instance_id else None) or None
    # The previous value itself rather than UsePreviousValue: same effect, and moto handles it.
    previous = {
        parameter["ParameterKey"]: parameter.get("ParameterValue", "")
        for parameter in (existing or {}).get("Parameters", [])
    }
    parameters = []
    for key, value in values.items():
        if value is None:
            value = previous.get(key)
        if value is not None:
            parameters.append({"ParameterKey": key, "ParameterValue": value})
    return parameters


def ensure_secrets(aws: Aws, prefix: str, llm_provider: str | None) -> None:
    """SECRET_KEY is made once if missing; GOOGLE_API_KEY is taken from the environment when set."""
    ssm = aws.client("ssm")
    try:
        ssm.get_parameter(Name=f"{prefix}/SECRET_KEY", WithDecryption=False)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
        ssm.put_parameter(
            Name=f"{prefix}/SECRET_KEY",
            Type="SecureString",
            Value=secrets.token_urlsafe(48),
            Description="Conversa JWT signing key",
        )
        log(f"created SecureString {prefix}/SECRET_KEY")
    if os.environ.get("GOOGLE_API_KEY"):
        put_secret(aws, prefix, "GOOGLE_API_KEY", os.environ["GOOGLE_API_KEY"])
        return
    try:
        ssm.get_parameter(Name=f"{prefix}/GOOGLE_API_KEY", WithDecryption=False)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
        if (llm_provider or "gemini") == "gemini":
            log(f"WARNING: {prefix}/GOOGLE_API_KEY is not set: run `deploy.py secrets` (the chat needs it)")


def put_secret(aws: Aws, prefix: str, name: str, value: str) -> None:
    aws.client("ssm").put_parameter(Name=f"{prefix}/{name}", Type="SecureString", Value=value, Overwrite=True)
    log(f"stored SecureString {prefix}/{name}")


def deploy_stack(aws: Aws, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """Create or update the stack and wait; returns the stack and whether it existed before."""
    cloudformation = aws.client("cloudformation")
    existing = stack_status(aws, args.stack_name)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {args.stack_name} is ROLLBACK_COMPLETE (its creation failed): run destroy, then deploy"
        )
    if existing and existing["StackStatus"].endswith("_IN_PROGRESS"):
        raise DeployError(f"stack {args.stack_name} is busy ({existing['StackStatus']}); try again when it is done")
    request = {
        "StackName": args.stack_name,
        "TemplateBody": TEMPLATE.read_text(),
        "Parameters": stack_parameters(aws, args, existing),
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "conversa"}],
    }
    if existing is None:
        log(f"creating stack {args.stack_name} in {aws.region} (CloudFront and the server take 10-20 min)")
        cloudformation.create_stack(**request)
    else:
        log(f"updating stack {args.stack_name}")
        try:
            cloudformation.update_stack(**request)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            log("the stack is up to date")
            return existing, True
    return wait_for_stack(aws, args.stack_name, args.poll_seconds), existing is not None


def update_app(aws: Aws, instance_id: str, ref: str, poll_seconds: float, timeout: float = 1800) -> None:
    """Run conversa-update on the server through Session Manager and wait for it."""
    ssm = aws.client("ssm")
    command = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Comment="conversa-update",
        Parameters={"commands": [f"/usr/local/bin/conversa-update {shlex.quote(ref)}"]},
        TimeoutSeconds=int(timeout),
    )["Command"]
    log(f"running conversa-update {ref} on {instance_id} (command {command['CommandId']})")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(poll_seconds)
        try:
            invocation = ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=instance_id)
        except ClientError as error:
            if error.response["Error"]["Code"] == "InvocationDoesNotExist":
                continue
            raise
        status = invocation["Status"]
        if status in {"Pending", "InProgress", "Delayed"}:
            continue
        output = (invocation.get("StandardOutputContent") or "").strip()
        if output:
            print(output)
        if status != "Success":
            print(invocation.get("StandardErrorContent") or "", file=sys.stderr)
            raise DeployError(f"conversa-update ended {status} on {instance_id}")
        log("the server runs the new version")
        return
    raise DeployError(f"conversa-update did not finish within {timeout:.0f} s")


# ------------------------------------------------------------------ commands


def command_deploy(aws: Aws, args: argparse.Namespace) -> int:
    if not args.skip_build:
        build_web(args.frontend_dir)
    ensure_secrets(aws, args.parameter_prefix, args.llm_provider)
    stack, existed = deploy_stack(aws, args)
    outputs = outputs_of(stack)
    upload_web(aws, outputs["WebBucketName"], args.frontend_dir / "dist")
    invalidate_index(aws, outputs["DistributionId"])
    if existed and not args.no_app_update:
        # On a new stack the server's first boot already ran it (the stack waited for its signal).
        update_app(aws, outputs["InstanceId"], args.git_ref, args.poll_seconds)
    log(f"Conversa is at {outputs['SiteUrl']}")
    print(outputs["SiteUrl"])
    return 0


def command_check(aws: Aws, args: argparse.Namespace) -> int:
    failures = 0
    venv_bin = Path(sys.executable).parent
    for name, command in (
        ("cfn-lint", [str(venv_bin / "cfn-lint"), str(TEMPLATE)]),
        (
            "checkov",
            [
                str(venv_bin / "checkov"),
                "--quiet",
                "--compact",
                "--skip-download",
                "--framework",
                "cloudformation",
                "-f",
                str(TEMPLATE),
            ],
        ),
    ):
        tool = command[0] if Path(command[0]).exists() else shutil.which(name)
        if tool is None:
            log(f"{name}: not installed (make install-dev)")
            failures += 1
            continue
        result = subprocess.run([tool, *command[1:]], capture_output=True, text=True)  # noqa: S603
        log(f"{name}: {'ok' if result.returncode == 0 else 'FAILED'}")
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            failures += 1
    has_credentials = boto3.session.Session().get_credentials() is not None
    if has_credentials or aws.endpoint_url:
        try:
            aws.client("cloudformation").validate_template(TemplateBody=TEMPLATE.read_text())
            log("CloudFormation ValidateTemplate: ok")
        except ClientError as error:
            log(f"CloudFormation ValidateTemplate: FAILED: {error}")
            failures += 1
    else:
        log("CloudFormation ValidateTemplate: skipped (no AWS credentials)")
    dist = args.frontend_dir / "dist"
    log(f"web build: {'present' if (dist / 'index.html').is_file() else 'not built yet'} ({dist})")
    log("check passed" if failures == 0 else f"check FAILED ({failures})")
    return 1 if failures else 0


def command_update_app(aws: Aws, args: argparse.Namespace) -> int:
    stack = stack_status(aws, args.stack_name)
    if stack is None:
        raise DeployError(f"stack {args.stack_name} not found: run deploy first")
    update_app(aws, outputs_of(stack)["InstanceId"], args.git_ref, args.poll_seconds)
    return 0


def command_secrets(aws: Aws, args: argparse.Namespace) -> int:
    google_api_key = os.environ.get("GOOGLE_API_KEY") or getpass.getpass("GOOGLE_API_KEY (empty: keep): ")
    if google_api_key:
        put_secret(aws, args.parameter_prefix, "GOOGLE_API_KEY", google_api_key)
    if args.rotate_secret_key:
        # Every session token stops working: users log in again.
        put_secret(aws, args.parameter_prefix, "SECRET_KEY", secrets.token_urlsafe(48))
    ensure_secrets(aws, args.parameter_prefix, None)
    log("run `deploy.py update-app` so the server reads them")
    return 0


def command_destroy(aws: Aws, args: argparse.Namespace) -> int:
    stack = stack_status(aws, args.stack_name)
    if stack is None:
        log(f"stack {args.stack_name} not found")
        return 0
    outputs = outputs_of(stack)
    if (
        not args.yes
        and input(f"Delete stack {args.stack_name} and its server? Type the stack name: ") != args.stack_name
    ):
        log("not deleted")
        return 1
    if outputs.get("WebBucketName"):
        bucket = aws.client("s3").list_objects_v2(Bucket=outputs["WebBucketName"])
        for item in bucket.get("Contents", []):
            aws.client("s3").delete_object(Bucket=outputs["WebBucketName"], Key=item["Key"])
    aws.client("cloudformation").delete_stack(StackName=args.stack_name)
    log(f"deleting stack {args.stack_name}")
    try:
        wait_for_stack(aws, args.stack_name, args.poll_seconds)
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
    log(f"deleted; the backups bucket {outputs.get('BackupBucketName', '?')} is kept (empty and delete it by hand)")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--stack-name", default=os.environ.get("CONVERSA_STACK", "conversa"))
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    parser.add_argument("--parameter-prefix", default=os.environ.get("CONVERSA_PARAMETER_PREFIX", "/conversa"))
    parser.add_argument("--frontend-dir", type=Path, default=FRONTEND_DIR)
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=float(os.environ.get("CONVERSA_POLL_SECONDS", "15")),
        help=argparse.SUPPRESS,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    deploy = commands.add_parser("deploy", help="create/update the stack, upload the web app, update the server")
    deploy.add_argument("--git-url", help="repository the server clones (default: CONVERSA_GIT_URL, git remote origin)")
    deploy.add_argument("--git-ref", default=os.environ.get("CONVERSA_GIT_REF", "main"), help="branch, tag or commit")
    deploy.add_argument("--ssh-cidr", help="open SSH to this CIDR (default: closed / as before)")
    deploy.add_argument("--key-name", help="EC2 key pair for SSH")
    deploy.add_argument("--instance-type", help="t2.micro (default), t3.micro or t3.small")
    deploy.add_argument("--llm-provider", help="LLM_PROVIDER of the server (default gemini)")
    deploy.add_argument(
        "--uploads-in-s3",
        choices=["true", "false"],
        help="keep attached files in an S3 bucket made for them (default false: in the data volume)",
    )
    deploy.add_argument("--prefix-list-id", help="CloudFront origin-facing prefix list (default: looked up)")
    deploy.add_argument("--vpc-id", help="default: the region's default VPC")
    deploy.add_argument("--subnet-id", help="a public subnet of --vpc-id")
    deploy.add_argument("--skip-build", action="store_true", help="upload frontend/dist as it is")
    deploy.add_argument("--no-app-update", action="store_true", help="do not run conversa-update on the server")
    deploy.add_argument(
        "--replace-server", action="store_true", help="take the newest AMI (replaces the server: back up first)"
    )

    commands.add_parser("check", help="validate the template and tools without deploying")
    update = commands.add_parser("update-app", help="run conversa-update on the server")
    update.add_argument("--git-ref", default=os.environ.get("CONVERSA_GIT_REF", "main"))
    secrets_parser = commands.add_parser("secrets", help="store GOOGLE_API_KEY (and SECRET_KEY) in Parameter Store")
    secrets_parser.add_argument("--rotate-secret-key", action="store_true", help="new SECRET_KEY (logs everyone out)")
    destroy = commands.add_parser("destroy", help="delete the stack (keeps the backups bucket)")
    destroy.add_argument("--yes", action="store_true", help="do not ask")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    aws = Aws(region=args.region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    handlers = {
        "deploy": command_deploy,
        "check": command_check,
        "update-app": command_update_app,
        "secrets": command_secrets,
        "destroy": command_destroy,
    }
    try:
        return handlers[args.command](aws, args)
    except DeployError as error:
        log(f"error: {error}")
        return 1
    except subprocess.CalledProcessError as error:
        log(f"error: {shlex.join(error.cmd)} exited {error.returncode}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
