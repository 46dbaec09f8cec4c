#!/usr/bin/env bash
# Benchmark idsignd on this machine.
#
#   scripts/bench.sh [BUILD_DIR]        (default: ./build)
#
# Creates a throwaway SoftHSM2 token in a temporary directory, imports a key
# with `idsign key import`, starts idsignd on 127.0.0.1 (a free port chosen
# by the kernel), runs idsign_bench at 32 and at 1 call in flight, stops the
# server and removes the directory. Client and server share the machine, so
# read the ratio Sign/Check, not the absolute rates.
#
# Each run alternates Check and Sign phases BENCH_ROUNDS times, so that load
# from other jobs on the machine hits both alike.
#
# Environment:
#   BENCH_INFLIGHT   calls in flight, one run each     (default: "32 1")
#   BENCH_ROUNDS     Check/Sign alternations per run   (default: 5)
#   BENCH_DURATION   measured time per phase and round (default: 1s)
#   BENCH_WARMUP     unmeasured time before each phase (default: 0.2s)
#   BENCH_CHANNELS   client connections                (default: 1)
#   IDSIGND_FLAGS    extra idsignd flags, e.g. "--sessions=1"
#   SOFTHSM2_EXTRA   extra lines for the throwaway token's softhsm2.conf,
#                    e.g. "slots.mechanisms = CKM_SHA256_HMAC,CKM_SHA_1"
set -euo pipefail

build_dir="${1:-./build}"
idsign="$build_dir/cli/idsign"
idsignd="$build_dir/service/idsignd"
bench="$build_dir/tests/idsign_bench"
for binary in "$idsign" "$idsignd" "$bench"; do
  if [[ ! -x "$binary" ]]; then
    echo "bench.sh: $binary not found; build first (cmake --build $build_dir)" >&2
    exit 2
  fi
done
command -v softhsm2-util >/dev/null || {
  echo "bench.sh: softhsm2-util not found (apt-get install softhsm2)" >&2
  exit 2
}

inflight_list="${BENCH_INFLIGHT:-32 1}"
rounds="${BENCH_ROUNDS:-5}"
duration="${BENCH_DURATION:-1s}"
warmup="${BENCH_WARMUP:-0.2s}"
channels="${BENCH_CHANNELS:-1}"
read -r -a extra_flags <<<"${IDSIGND_FLAGS:-}"

work="$(mktemp -d "${TMPDIR:-/tmp}/idsign-bench-XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

umask 077
mkdir "$work/tokens"
export SOFTHSM2_CONF="$work/softhsm2.conf"
cat >"$SOFTHSM2_CONF" <<CONF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
${SOFTHSM2_EXTRA:-}
CONF
label="idsign-bench"
so_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
user_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$user_pin" >"$work/user.pin"
softhsm2-util --init-token --free --label "$label" \
  --so-pin "$so_pin" --pin "$user_pin" >/dev/null

# A stand-in for a vendor secret: 40 hex characters.
key="bench/web/test"
od -An -N20 -tx1 /dev/urandom | tr -d ' \n' >"$work/secret"
"$idsign" key import --token="$label" --pin-file="$work/user.pin" \
  --name="$key" --secret-file="$work/secret" >/dev/null
rm -f "$work/secret"

"$idsignd" --token="$label" --pin-file="$work/user.pin" \
  --listen=127.0.0.1:0 "${extra_flags[@]}" 2>"$work/idsignd.log" &
server_pid=$!

address=""
for _ in $(seq 1 300); do
  address="$(sed -n 's/.* INFO ready address=\([^ ]*\) .*serving=1.*/\1/p' \
    "$work/idsignd.log" | head -n1)"
  [[ -n "$address" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$address" ]]; then
  echo "bench.sh: idsignd did not become ready; its log:" >&2
  cat "$work/idsignd.log" >&2
  exit 1
fi

echo "== idsign benchmark: $(nproc) cores, $(uname -sr)"
echo "== idsignd $address ${IDSIGND_FLAGS:-(default flags)}, SoftHSM2 token in $work"
if [[ -n "${SOFTHSM2_EXTRA:-}" ]]; then
  echo "== softhsm2.conf extra: $SOFTHSM2_EXTRA"
fi
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for inflight in $inflight_list; do
  echo
  "$bench" --server="$address" --key="$key" --inflight="$inflight" \
    --channels="$channels" --rounds="$rounds" --duration="$duration" \
    --warmup="$warmup" ||
    status=1
done
echo
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

kill -TERM "$server_pid"
wait "$server_pid" || status=1
server_pid=""
exit "$status"
