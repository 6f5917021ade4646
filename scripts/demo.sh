#!/usr/bin/env bash
# Installs what is needed, builds, and starts the server on its built-in demo
# configuration: share "demo" in ./demo-state/demo, user demo/demo, 127.0.0.1:4455.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build smbd smbd-passwd
exec build/smbd/master/smbd --demo="${SMB_DEMO_DIR:-$PWD/demo-state}" -p "${SMB_DEMO_PORT:-4455}"
