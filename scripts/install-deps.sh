#!/usr/bin/env bash
# Installs the Debian 12 packages idsign needs to build, run and test.
# Idempotent: apt-get runs only when something is missing. Needs root (or
# sudo) the first time.
set -euo pipefail

PACKAGES=(
  # toolchain
  cmake ninja-build pkg-config ccache g++ make
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libp11-kit-dev libcli11-dev nlohmann-json3-dev
  # the development HSM and its tools
  softhsm2 opensc
  # tests: GoogleTest/GMock and OpenSSL (the oracle)
  libgtest-dev libgmock-dev libssl-dev openssl
  # the Python client example and its test (examples/python; its stubs are
  # generated with protoc and grpc_python_plugin, above), and python3-jwt,
  # the independent JWT implementation the tests check tokens with
  python3 python3-grpcio python3-protobuf python3-jwt
  # scripts
  coreutils procps
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "idsign: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "idsign: these packages are missing and this is not root: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
