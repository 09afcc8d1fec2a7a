#!/usr/bin/env bash
# Create .venv with talkinghead and its pinned dependencies.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh --test   also test tools and the system packages tests use
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--test" ]; then
  # System packages the tests need (installed only where missing; needs root).
  missing=()
  for pkg in $(grep -v '^#' requirements-apt.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: please install these Debian packages first: ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/pip install -q -r requirements.txt
.venv/bin/pip install -q -r requirements-eval.txt  # talkinghead eval (docs/EVAL.md)
# mediapipe 0.10.21 is the last release that ships its models; its metadata
# pulls jax and a second OpenCV wheel that we do not want, hence --no-deps.
.venv/bin/pip install -q --no-deps mediapipe==0.10.21
# nudenet ships the nudity detector the service runs with onnxruntime; its
# metadata pulls opencv-python-headless (a second cv2), hence --no-deps too.
.venv/bin/pip install -q --no-deps nudenet==3.4.2
.venv/bin/pip install -q --no-deps -e .
if [ "${1:-}" = "--test" ]; then
  .venv/bin/pip install -q -r requirements-test.txt
  # Pipecat for tests/test_pipecat.py: its metadata wants protobuf>=5.29.6, which
  # mediapipe 0.10.21 cannot share, hence --no-deps (requirements-test.txt has what
  # its pipeline core imports).
  .venv/bin/pip install -q --no-deps pipecat-ai==1.14.0
fi
