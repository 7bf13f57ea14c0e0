#!/usr/bin/env bash
# Builds and runs the production image and the compose files with podman, the way the EC2 box
# runs them (1 GB, 1 CPU), and checks what the deployment promises:
#   1. the image builds (stand-in python:3.12-slim base), runs as non-root, has no compiler;
#   2. health, register, log in, create a conversation and chat (LLM_PROVIDER=fake);
#   3. the data survives a restart and a remove + recreate (named volume);
#   4. `podman_compose up -d --build` with the dev override: a code edit is picked up by --reload,
#      and the database stays in the named volume;
#   5. prints the image size and the container's memory use.
# Everything it makes (containers, volumes, images, temp copy) is removed at the end.
# Usage: bash scripts/test-containers.sh   (make test-containers; ~3-6 min)
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
import json
import sys
import urllib.error
import urllib.request

base, step, *args = sys.argv[1:]


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read().decode()
            return response.status, (json.loads(raw) if raw and "json" in response.headers.get("Content-Type", "") else raw)
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {path} -> {error.code} {error.read().decode()[:300]}")


def login(email, password):
    status, token = call("POST", "/api/auth/login", {"email": email, "password": password})
    return token["access_token"]


if step == "health":
    print(call("GET", "/api/health")[1]["status"])
elif step == "register-and-chat":
    email, password = args
    status, user = call("POST", "/api/auth/register", {"email": email, "password": password})
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

log "4b. the scale-out file resolves (PostgreSQL + Redis + 2 replicas; its images need a registry, so it is not run here)"
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

log "5. figures"
size_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
base_bytes="$(podman image inspect --format '{{.Size}}' "$STANDIN_IMAGE")"
size_mb=$((size_bytes / 1000000))
added_mb=$(((size_bytes - base_bytes) / 1000000))
echo "image size: ${size_mb} MB on the stand-in base ($((base_bytes / 1000000)) MB); layers added by the Dockerfile: ${added_mb} MB"
echo "  (python:3.12-slim itself is ~125 MB, so the real image is about $((added_mb + 125)) MB; target <= 250 MB)"
echo "memory of the running container (podman stats, after chatting): $mem_app  (limit --memory=1g)"
echo "memory under compose with --reload (reloader + worker): $mem_compose"
if [[ $((added_mb + 125)) -gt 250 ]]; then
    echo "WARNING: the estimated real image size is over the 250 MB target"
fi
