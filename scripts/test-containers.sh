#!/usr/bin/env bash
# Builds and runs the production image and the compose files with podman, the way the EC2 box
# runs them (1 GB, 1 CPU), and checks what the deployment promises:
#   1. the image builds (stand-in python:3.12-slim base), runs as non-root, has no compiler;
#   2. health, register, log in, create a conversation and chat (LLM_PROVIDER=fake);
#   3. the data survives a restart and a remove + recreate (named volume);
#   4. `podman_compose up -d --build` with the dev override: a code edit is picked up by --reload,
#      and the database stays in the named volume;
#   4c. docker-compose.scale.yml brought up for real (PostgreSQL, Redis, migrate, two replicas,
#      nginx; stand-in images from Debian's packages where Docker Hub's cannot be pulled): chat
#      through the proxy, both replicas serve, migrate exited 0 before the replicas started, the
#      memory limits hold; then `down -v`;
#   5. prints the image size and the containers' memory use.
# Everything it makes (containers, volumes, images, temp copy) is removed at the end.
# Usage: bash scripts/test-containers.sh   (make test-containers; ~3-6 min on a quiet machine, plus ~4 min
# for 4c and ~3.5 min more where its stand-in images are not built yet)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED_DIR="${SHARED_DIR:-$REPO_DIR/../shared}"
[[ -f "$SHARED_DIR/tools/containers.sh" ]] || SHARED_DIR=/work/shared
# shellcheck source=/dev/null
source "$SHARED_DIR/tools/containers.sh"

RUN_ID="conversa-test-$$"
IMAGE="localhost/$RUN_ID:latest"
CONTAINER="$RUN_ID-app"
VOLUME="${RUN_ID}_data"
PROJECT="${RUN_ID//-/}"
COMPOSE_IMAGE="localhost/$RUN_ID-compose:latest"
SCALE_PROJECT="${PROJECT}scale"
WORK_DIR="$(mktemp -d "/tmp/$RUN_ID.XXXXXX")"
EMAIL="ci-$$@example.com"
PASSWORD="correct-horse-battery"
SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
STARTED=$SECONDS

log() { printf '\n[test-containers %3ds] %s\n' "$((SECONDS - STARTED))" "$*"; }
fail() { printf '\n[test-containers] FAILED: %s\n' "$*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# podman prints harmless "unable to get systemd connection" lines here: keep them out of the output.
quiet() { "$@" 2> >(grep -v 'systemd' >&2); }

SCALE_PORT="$(free_port)"
SBASE="http://127.0.0.1:$SCALE_PORT"
scale_compose() {
    (cd "$WORK_DIR" && APP_PORT="$SCALE_PORT" APP_IMAGE="$COMPOSE_IMAGE" podman_compose -p "$SCALE_PROJECT" \
        -f docker-compose.yml -f docker-compose.scale.yml -f docker-compose.podman-configs.yml "$@")
}

images_before=""

cleanup() {
    local rc=$?
    set +e
    log "cleaning up"
    if [[ $rc -ne 0 ]]; then
        echo "--- last logs of $CONTAINER ---"; podman logs --tail 40 "$CONTAINER" 2>/dev/null
    fi
    if [[ -f "$WORK_DIR/docker-compose.yml" ]]; then
        if [[ $rc -ne 0 ]]; then
            (cd "$WORK_DIR" && podman_compose -p "$PROJECT" logs --tail 40 2>/dev/null)
        fi
        (cd "$WORK_DIR" && APP_IMAGE="$COMPOSE_IMAGE" podman_compose -p "$PROJECT" down -v >/dev/null 2>&1)
    fi
    if [[ -f "$WORK_DIR/scale-up.log" ]]; then
        if [[ $rc -ne 0 ]]; then
            for c in $(podman ps -a --filter "label=io.podman.compose.project=$SCALE_PROJECT" --format '{{.Names}}'); do
                echo "--- last logs of $c ---"; podman logs --tail 15 "$c" 2>&1
            done
        fi
        (cd "$WORK_DIR" && scale_compose down -v >/dev/null 2>&1)
    fi
    podman rm -f "$CONTAINER" >/dev/null 2>&1
    podman volume rm -f "$VOLUME" >/dev/null 2>&1
    podman rmi -f "$IMAGE" "$COMPOSE_IMAGE" >/dev/null 2>&1
    # Untagged images this run's builds left (the build stage); tagged and older images stay.
    if [[ -n "$images_before" ]]; then
        comm -13 <(echo "$images_before") <(podman images -q --no-trunc --filter dangling=true | sort -u) \
            | xargs -r podman rmi -f >/dev/null 2>&1
    fi
    rm -rf "$WORK_DIR"
    if [[ $rc -eq 0 ]]; then echo "[test-containers] all checks passed in $((SECONDS - STARTED)) s"; fi
    exit $rc
}
trap cleanup EXIT

# A small API client: `api.py BASE STEP ...` prints what the checks need and fails loudly.
cat >"$WORK_DIR/api.py" <<'PY'
import http.client
import json
import sys
import time
import urllib.error
import urllib.request

base, step, *args = sys.argv[1:]


def call(method, path, body=None, token=None, retries=3):
    """One request; a dropped or timed-out connection is tried again (a CI machine may be loaded:
    a login once took 10 s in a 1-CPU replica and its connection was lost), an HTTP error is not."""
    for attempt in range(retries + 1):
        request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                raw = response.read().decode()
                return response.status, (json.loads(raw) if raw and "json" in response.headers.get("Content-Type", "") else raw)
        except urllib.error.HTTPError as error:
            sys.exit(f"{method} {path} -> {error.code} {error.read().decode()[:300]}")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            waited = time.monotonic() - started
            if attempt == retries:
                sys.exit(f"{method} {path}: {type(error).__name__}: {error} after {waited:.1f} s, {retries + 1} attempts")
            print(f"{method} {path}: {type(error).__name__}: {error} after {waited:.1f} s; trying again", file=sys.stderr)
            time.sleep(2 ** attempt)


def login(email, password):
    status, token = call("POST", "/api/auth/login", {"email": email, "password": password})
    return token["access_token"]


if step == "health":
    print(call("GET", "/api/health")[1]["status"])
elif step == "register-and-chat":
    email, password = args
    status, user = call("POST", "/api/auth/register", {"email": email, "password": password}, retries=0)
    assert status == 201, status
    token = login(email, password)
    status, conversation = call("POST", "/api/conversations", {"title": "Container test"}, token)
    assert status == 201, status
    status, reply = call("POST", "/api/chat", {"conversation_id": conversation["id"], "message": "Olá, container!"}, token)
    assert reply["assistant_message"]["content"], reply
    status, stream = call("POST", "/api/chat/stream", {"conversation_id": conversation["id"], "message": "And streamed?"}, token)
    assert "event: done" in stream or '"assistant_message"' in stream, stream[:300]
    print(f"user {user['id']} chatted in conversation {conversation['id']}: {reply['assistant_message']['content'][:60]!r}...")
elif step == "count-messages":
    email, password = args
    token = login(email, password)
    status, page = call("GET", "/api/conversations", token=token)
    conversation = page["items"][0]
    status, messages = call("GET", f"/api/conversations/{conversation['id']}/messages", token=token)
    print(len(messages["items"]))
elif step == "probe-replicas":
    count, prefix = int(args[0]), args[1]
    for i in range(count):  # the request id is echoed in the serving replica's request log
        request = urllib.request.Request(base + "/api/health", headers={"X-Request-Id": f"{prefix}-{i}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, response.status
    print(f"{count} x GET /api/health through the proxy: 200")
elif step == "get":
    print(json.dumps(call("GET", args[0])[1]))
PY
api() { python3 "$WORK_DIR/api.py" "$@"; }

wait_healthy() {  # wait_healthy CONTAINER BASE_URL
    local deadline=$((SECONDS + 120))
    until podman healthcheck run "$1" >/dev/null 2>&1; do
        [[ $SECONDS -lt $deadline ]] || fail "$1 not healthy after 120 s"
        sleep 1
    done
    [[ "$(api "$2" health)" == "ok" ]] || fail "$2/api/health is not ok"
}

log "setting up podman and the stand-in base image"
containers_setup >/dev/null || fail "containers_setup"
images_before="$(podman images -q --no-trunc | sort -u)"

log "1. building the image"
build_started=$SECONDS
quiet podman build --build-arg PYTHON_IMAGE="$STANDIN_IMAGE" -t "$IMAGE" "$REPO_DIR/backend" >"$WORK_DIR/build.log" 2>&1 \
    || { tail -n 40 "$WORK_DIR/build.log"; fail "podman build"; }
echo "built in $((SECONDS - build_started)) s"
[[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" != "" ]] || fail "the image has no USER"
if podman run --rm --entrypoint sh "$IMAGE" -c 'command -v gcc || command -v cc || command -v g++' 2>/dev/null; then
    fail "the final image has a compiler"
fi
echo "non-root user $(podman image inspect --format '{{.Config.User}}' "$IMAGE"), no compiler in the final image"
# The build strips the wheels' shared libraries: every compiled module must still load.
cat >"$WORK_DIR/import_compiled.py" <<'PY'
import importlib
import pathlib
import sys
import sysconfig

root = pathlib.Path(sysconfig.get_paths()["purelib"])
names = sorted(
    ".".join([*so.relative_to(root).parts[:-1], so.name.split(".")[0]])
    for so in root.rglob("*.so")
    if not any(part.endswith(".libs") or part in ("tests", "test") for part in so.relative_to(root).parts)
)
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:  # noqa: BLE001
        failed.append(f"{name}: {error}")
print(f"{len(names) - len(failed)}/{len(names)} compiled modules load", *failed, sep="\n")
sys.exit(1 if failed else 0)
PY
quiet podman run --rm -v "$WORK_DIR/import_compiled.py:/tmp/import_compiled.py:ro" --entrypoint python "$IMAGE" \
    /tmp/import_compiled.py || fail "a compiled module does not load"

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
run_app() {
    quiet podman run -d --name "$CONTAINER" --memory=1g --cpus=1 -p "127.0.0.1:$PORT:8000" \
        -e ENV=production -e SECRET_KEY="$SECRET_KEY" -e LLM_PROVIDER=fake -e FAKE_LLM_DELAY_MS=0 \
        -v "$VOLUME:/app/data" "$IMAGE" >/dev/null
}

log "2. running it (--memory=1g --cpus=1, volume $VOLUME, ENV=production) and chatting"
run_app
wait_healthy "$CONTAINER" "$BASE"
[[ "$(podman exec "$CONTAINER" id -u)" != "0" ]] || fail "the app runs as root"
api "$BASE" register-and-chat "$EMAIL" "$PASSWORD"
before="$(api "$BASE" count-messages "$EMAIL" "$PASSWORD")"
echo "messages stored: $before"
[[ "$before" -ge 4 ]] || fail "expected 4 messages, got $before"
mem_app="$(podman stats --no-stream --format '{{.MemUsage}}' "$CONTAINER" 2>/dev/null)"
quiet podman stats --no-stream "$CONTAINER"

log "3a. restart: the data is still there"
quiet podman restart "$CONTAINER" >/dev/null
wait_healthy "$CONTAINER" "$BASE"
after="$(api "$BASE" count-messages "$EMAIL" "$PASSWORD")"
[[ "$after" == "$before" ]] || fail "after restart: $after messages, expected $before"
echo "after restart: $after messages, same user can log in"

log "3b. remove + recreate the container on the same volume: the data is still there"
quiet podman rm -f "$CONTAINER" >/dev/null
run_app
wait_healthy "$CONTAINER" "$BASE"
after="$(api "$BASE" count-messages "$EMAIL" "$PASSWORD")"
[[ "$after" == "$before" ]] || fail "after recreate: $after messages, expected $before"
echo "after rm + run: $after messages; volume holds: $(podman exec "$CONTAINER" ls /app/data | tr '\n' ' ')"
quiet podman rm -f "$CONTAINER" >/dev/null

log "4. compose with the dev override (temp copy of the repo; reload on a code edit)"
# A copy, so the edit below never touches the repo's files.
mkdir -p "$WORK_DIR/backend"
cp "$REPO_DIR/docker-compose.yml" "$REPO_DIR/docker-compose.override.yml" "$REPO_DIR/docker-compose.scale.yml" "$WORK_DIR/"
tar -C "$REPO_DIR/backend" --exclude=./models --exclude=./data --exclude=./.venv --exclude='__pycache__' -cf - . \
    | tar -C "$WORK_DIR/backend" -xf -
COMPOSE_PORT="$(free_port)"
CBASE="http://127.0.0.1:$COMPOSE_PORT"
printf 'ENV=development\nLLM_PROVIDER=fake\nFAKE_LLM_DELAY_MS=0\n' >"$WORK_DIR/.env"
compose() { (cd "$WORK_DIR" && APP_PORT="$COMPOSE_PORT" APP_IMAGE="$COMPOSE_IMAGE" podman_compose -p "$PROJECT" "$@"); }
compose up -d --build >"$WORK_DIR/compose-up.log" 2>&1 || { tail -n 40 "$WORK_DIR/compose-up.log"; fail "podman_compose up"; }
APP_CONTAINER="$(podman ps --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' | head -n 1)"
[[ -n "$APP_CONTAINER" ]] || fail "no compose container is running"
wait_healthy "$APP_CONTAINER" "$CBASE"
podman inspect --format '{{range .Mounts}}{{.Destination}} <- {{.Type}} {{if .Name}}{{.Name}}{{else}}{{.Source}}{{end}}{{"\n"}}{{end}}' "$APP_CONTAINER"
podman inspect --format '{{range .Mounts}}{{.Destination}}={{.Type}} {{end}}' "$APP_CONTAINER" | grep -q '/app/data=volume' \
    || fail "/app/data is not the named volume under the override"
podman inspect --format '{{.Config.Cmd}}' "$APP_CONTAINER" | grep -q -- '--reload' || fail "the override's --reload command is not used"
api "$CBASE" register-and-chat "$EMAIL" "$PASSWORD"

MARKER="reload-$$-$RANDOM"
cat >>"$WORK_DIR/backend/app/main.py" <<PY


@app.get("/api/reload-probe", include_in_schema=False)
def reload_probe() -> dict[str, str]:
    return {"marker": "$MARKER"}
PY
echo "appended a /api/reload-probe route to the bind-mounted app/main.py; waiting for the reload"
deadline=$((SECONDS + 90))
until api "$CBASE" get /api/reload-probe 2>/dev/null | grep -q "$MARKER"; do
    [[ $SECONDS -lt $deadline ]] || { podman logs --tail 30 "$APP_CONTAINER"; fail "the code edit was not picked up"; }
    sleep 1
done
podman logs "$APP_CONTAINER" 2>&1 | grep -iE 'changes detected|detected changes|reloading' | tail -n 2 || true
echo "the new route answers: $(api "$CBASE" get /api/reload-probe)"
after="$(api "$CBASE" count-messages "$EMAIL" "$PASSWORD")"
[[ "$after" -ge 4 ]] || fail "after the reload: $after messages"
echo "after the reload the user and $after messages are still there (chat.db in the named volume)"
mem_compose="$(podman stats --no-stream --format '{{.MemUsage}}' "$APP_CONTAINER" 2>/dev/null)"

log "4b. the scale-out file resolves (PostgreSQL + Redis + 2 replicas; run for real in 4c)"
scale_config="$(cd "$WORK_DIR" && POSTGRES_PASSWORD=check podman_compose -f docker-compose.yml -f docker-compose.scale.yml config 2>"$WORK_DIR/scale.err")" \
    || { cat "$WORK_DIR/scale.err"; fail "docker-compose.scale.yml does not resolve"; }
"$CTR/venv/bin/python" - "$scale_config" <<'PY' || fail "docker-compose.scale.yml is not what it should be"
import sys

import yaml

services = yaml.safe_load(sys.argv[1])["services"]
app = services["app"]
assert app["deploy"]["replicas"] == 2, app
assert not app.get("ports"), "replicas must not publish the host port"
assert app["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://"), app["environment"]
assert app["environment"]["REDIS_URL"].startswith("redis://"), app["environment"]
assert {"postgres", "redis", "migrate", "proxy"} <= set(services), sorted(services)
print("scale file: app x2 (no host port), migrate, postgres, redis, proxy on :8000")
PY

log "4c. the scale-out file, run: PostgreSQL + Redis + migrate + 2 replicas + nginx (project $SCALE_PROJECT)"
# The dev project first goes, so that the two do not compete for the 1 GB the checks assume.
compose down -v >/dev/null 2>&1 || fail "podman_compose down (dev project)"
scale_started=$SECONDS
# Stand-ins for the three Docker Hub images, tagged with the compose file's names, built only when
# no such image is here (a host that can pull uses the real ones): scripts/standin-images/README.md.
pids=()
for spec in postgres:postgres:16-alpine redis:redis:7-alpine nginx:nginx:1.27-alpine; do
    file="${spec%%:*}" name="docker.io/library/${spec#*:}"
    if podman image exists "$name"; then
        echo "$name: present, used as it is"
        continue
    fi
    quiet podman build --build-arg BASE_IMAGE="$STANDIN_IMAGE" -f "$REPO_DIR/scripts/standin-images/$file.Containerfile" \
        -t "$name" "$REPO_DIR/scripts/standin-images" >"$WORK_DIR/standin-$file.log" 2>&1 &
    pids+=("$!:$file:$name")
done
for entry in "${pids[@]}"; do
    IFS=: read -r pid file name <<<"$entry"
    wait "$pid" || { tail -n 30 "$WORK_DIR/standin-$file.log"; fail "building the stand-in $name"; }
    echo "$name: built a stand-in from Debian's packages ($(podman image inspect --format '{{.Size}}' "$name" | awk '{printf "%d MB", $1 / 1e6}'))"
done
echo "images ready in $((SECONDS - scale_started)) s"

printf 'ENV=production\nSECRET_KEY=%s\nPOSTGRES_PASSWORD=%s\nLLM_PROVIDER=fake\nFAKE_LLM_DELAY_MS=0\n' \
    "$SECRET_KEY" "$(python3 -c 'import secrets; print(secrets.token_hex(16))')" >"$WORK_DIR/.env"
# podman-compose 1.6 drops top-level `configs:` (the proxy would start without its nginx config), so
# a third file mounts the very text the scale file declares, taken from its resolved form.
(cd "$WORK_DIR" && podman_compose -f docker-compose.yml -f docker-compose.scale.yml config 2>/dev/null) \
    | "$CTR/venv/bin/python" -c '
import sys, yaml
content = yaml.safe_load(sys.stdin)["configs"]["nginx_conf"]["content"]
assert "upstream conversa" in content and "$host" in content, content
open(sys.argv[1], "w").write(content)
' "$WORK_DIR/scale-nginx.conf" || fail "no nginx_conf content in the resolved scale file"
cat >"$WORK_DIR/docker-compose.podman-configs.yml" <<'YML'
# Written by scripts/test-containers.sh: what `configs: nginx_conf` does under docker compose.
services:
  proxy:
    volumes:
      - ./scale-nginx.conf:/etc/nginx/conf.d/default.conf:ro
YML
# The order is the scale file's own depends_on, checked here, but podman 4.3 + podman-compose 1.6
# cannot follow it: `service_healthy` is skipped ("podman 4.3.1 doesn't support healthy"), and once
# migrate has exited, `podman start` of a replica fails ("generating dependency graph ... not found
# in input list"). So each service comes up with --no-deps, in that order, the test doing the waiting.
(cd "$WORK_DIR" && podman_compose -f docker-compose.yml -f docker-compose.scale.yml config 2>/dev/null) \
    | "$CTR/venv/bin/python" -c '
import sys, yaml
deps = {name: {dep: spec["condition"] for dep, spec in (service.get("depends_on") or {}).items()}
        for name, service in yaml.safe_load(sys.stdin)["services"].items()}
want = {"postgres": {}, "redis": {}, "migrate": {"postgres": "service_healthy"},
        "app": {"migrate": "service_completed_successfully", "redis": "service_healthy"},
        "proxy": {"app": "service_started"}}
assert deps == want, deps
print("depends_on: postgres, redis (healthy) -> migrate (completed) -> app x2 -> proxy")
' || fail "docker-compose.scale.yml's depends_on is not the order this step follows"
wait_health() {  # wait_health CONTAINER SECONDS
    local deadline=$((SECONDS + $2))
    until podman healthcheck run "$1" >/dev/null 2>&1; do
        [[ $SECONDS -lt $deadline ]] || fail "$1 not healthy after $2 s"
        sleep 1
    done
}
scale_compose up -d --no-deps postgres redis >"$WORK_DIR/scale-up.log" 2>&1 \
    || { tail -n 30 "$WORK_DIR/scale-up.log"; fail "up postgres redis"; }
wait_health "${SCALE_PROJECT}_postgres_1" 90
wait_health "${SCALE_PROJECT}_redis_1" 90
echo "postgres and redis healthy after $((SECONDS - scale_started)) s"
scale_compose up -d --no-deps migrate >>"$WORK_DIR/scale-up.log" 2>&1 || { tail -n 30 "$WORK_DIR/scale-up.log"; fail "up migrate"; }
migrate="${SCALE_PROJECT}_migrate_1"
timeout 120 podman wait "$migrate" >/dev/null 2>&1 || fail "migrate did not end within 120 s"
[[ "$(podman inspect --format '{{.State.ExitCode}}' "$migrate")" == "0" ]] \
    || { podman logs "$migrate"; fail "the migrate service exited $(podman inspect --format '{{.State.ExitCode}}' "$migrate")"; }
scale_compose up -d --no-deps app >>"$WORK_DIR/scale-up.log" 2>&1 || { tail -n 30 "$WORK_DIR/scale-up.log"; fail "up app"; }
wait_health "${SCALE_PROJECT}_app_1" 120
wait_health "${SCALE_PROJECT}_app_2" 120
scale_compose up -d --no-deps proxy >>"$WORK_DIR/scale-up.log" 2>&1 || { tail -n 30 "$WORK_DIR/scale-up.log"; fail "up proxy"; }
# Through the proxy from here on.
deadline=$((SECONDS + 30))
until [[ "$(api "$SBASE" health 2>/dev/null)" == "ok" ]]; do
    [[ $SECONDS -lt $deadline ]] || fail "$SBASE/api/health through the proxy is not ok"
    sleep 1
done
echo "all up and healthy $((SECONDS - scale_started)) s after the step began; /api/health through nginx: ok"
podman ps -a --filter "label=io.podman.compose.project=$SCALE_PROJECT" --format '  {{.Names}}  {{.Image}}  {{.Status}}'

[[ "$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$migrate")" == "exited 0" ]] \
    || fail "the migrate service is not exited 0: $(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$migrate")"
"$CTR/venv/bin/python" - "$(podman inspect --format '{{.State.FinishedAt}}' "$migrate")" \
    "$(podman inspect --format '{{.State.StartedAt}}' "${SCALE_PROJECT}_app_1")" \
    "$(podman inspect --format '{{.State.StartedAt}}' "${SCALE_PROJECT}_app_2")" <<'PY' || fail "a replica started before migrate had finished"
import re
import sys
from datetime import datetime


def parse(text):  # podman: "2026-12-01 16:40:01.123456789 +0000 UTC"
    date, clock, zone = text.split()[:3]
    clock = re.sub(r"(\.\d{6})\d+", r"\1", clock)
    return datetime.fromisoformat(f"{date}T{clock}{zone[:3]}:{zone[3:]}")


finished, *started = map(parse, sys.argv[1:])
gaps = [(s - finished).total_seconds() for s in started]
print(f"migrate exited 0; the replicas started {gaps[0]:.1f} s and {gaps[1]:.1f} s after it finished")
sys.exit(0 if min(gaps) >= 0 else 1)
PY

api "$SBASE" register-and-chat "$EMAIL" "$PASSWORD"
api "$SBASE" probe-replicas 40 "$MARKER-s"
served=()
for replica in 1 2; do
    n="$(podman logs "${SCALE_PROJECT}_app_${replica}" 2>&1 | grep -c "$MARKER-s" || true)"
    served+=("$n")
    echo "replica $replica ($(podman inspect --format '{{.Config.Hostname}}' "${SCALE_PROJECT}_app_${replica}")) served $n of 40 requests"
done
[[ "${served[0]}" -gt 0 && "${served[1]}" -gt 0 ]] || fail "nginx did not spread requests over both replicas: ${served[*]}"
[[ $((served[0] + served[1])) -eq 40 ]] || fail "40 requests, the replicas logged ${served[0]} + ${served[1]}"

mem_scale="$(quiet podman stats --no-stream --format '{{.Name}} {{.MemUsage}}' \
    $(podman ps --filter "label=io.podman.compose.project=$SCALE_PROJECT" --format '{{.Names}}'))"
echo "$mem_scale" | sed 's/^/  /'
"$CTR/venv/bin/python" - "$SCALE_PROJECT" <<'PY' || fail "a memory limit is not what docker-compose.scale.yml sets"
import json
import subprocess
import sys

project = sys.argv[1]
want = {"app": 768, "postgres": 512, "redis": 128, "proxy": 64}  # MiB, from the compose files
names = subprocess.run(["podman", "ps", "--filter", f"label=io.podman.compose.project={project}", "--format", "{{.Names}}"],
                       check=True, capture_output=True, text=True).stdout.split()
stats = {row["name"]: row for row in json.loads(subprocess.run(["podman", "stats", "--no-stream", "--format", "json", *names],
                                                                check=True, capture_output=True, text=True).stdout)}
seen = set()
for name in names:
    service = name[len(project) + 1:].rsplit("_", 1)[0]
    limit = json.loads(subprocess.run(["podman", "inspect", name], check=True, capture_output=True, text=True).stdout)[0]["HostConfig"]["Memory"]
    assert limit == want[service] * 2**20, f"{name}: limit {limit} bytes, want {want[service]} MiB"
    used, cap = (part.strip() for part in stats[name]["mem_usage"].split("/"))
    print(f"  {name}: limit {want[service]} MiB (cgroup) -- using {used} of {cap}")
    seen.add(service)
assert seen == set(want), seen
PY

# The token and the messages are read back through the proxy, whichever replica it picks.
for i in 1 2 3 4; do
    after="$(api "$SBASE" count-messages "$EMAIL" "$PASSWORD")"
    [[ "$after" -ge 4 ]] || fail "read back through the proxy: $after messages"
done
echo "4 x log in + list + read through nginx: $after messages each time (PostgreSQL, shared SECRET_KEY)"

scale_compose down -v >>"$WORK_DIR/scale-up.log" 2>&1 || fail "podman_compose down -v (scale)"
left="$(podman ps -a --filter "label=io.podman.compose.project=$SCALE_PROJECT" --format '{{.Names}}')"
[[ -z "$left" ]] || fail "containers left after down -v: $left"
podman volume ls --format '{{.Name}}' | grep -q "^${SCALE_PROJECT}_" && fail "volumes left after down -v"
scale_seconds=$((SECONDS - scale_started))
echo "scale-out step: ${scale_seconds} s (stand-in images included), down -v left no container or volume"

log "5. figures"
size_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
base_bytes="$(podman image inspect --format '{{.Size}}' "$STANDIN_IMAGE")"
size_mb=$((size_bytes / 1000000))
added_mb=$(((size_bytes - base_bytes) / 1000000))
echo "image size: ${size_mb} MB on the stand-in base ($((base_bytes / 1000000)) MB); layers added by the Dockerfile: ${added_mb} MB"
echo "  (python:3.12-slim itself is ~125 MB, so the real image is about $((added_mb + 125)) MB; target <= 250 MB)"
echo "memory of the running container (podman stats, after chatting): $mem_app  (limit --memory=1g)"
echo "memory under compose with --reload (reloader + worker): $mem_compose"
echo "scale-out (4c, ${scale_seconds} s), podman stats after the chat:"
echo "$mem_scale" | sed 's/^/  /'
if [[ $((added_mb + 125)) -gt 250 ]]; then
    echo "WARNING: the estimated real image size is over the 250 MB target"
fi
