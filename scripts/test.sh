#!/usr/bin/env bash
# Quickstart command 2: install what is missing, build, and run every test.
# Each test binary creates its own SoftHSM2 token in a temporary directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$build_dir" -DIDSIGN_BUILD_TESTS=ON
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)"
