#!/usr/bin/env bash
# Quickstart command 1: install what is missing, build, create a SoftHSM2
# development token with a demo key under .dev/ (git-ignored), and run idsignd
# on 127.0.0.1:50051 in the foreground. Ctrl-C stops it cleanly.
#
# Re-running reuses the token, PIN and demo key already in .dev/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
dev="$root/.dev"
label="idsign-dev"
demo_key="demo/web/test"
listen="${IDSIGN_LISTEN:-127.0.0.1:50051}"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$build_dir"
idsign="$build_dir/cli/idsign"
idsignd="$build_dir/service/idsignd"

umask 077
mkdir -p "$dev/tokens"
export SOFTHSM2_CONF="$dev/softhsm2.conf"
cat > "$SOFTHSM2_CONF" <<CONF
directories.tokendir = $dev/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$label\$"; then
  openssl rand -hex 16 > "$dev/so.pin"
  openssl rand -hex 12 > "$dev/user.pin"
  softhsm2-util --init-token --free --label "$label" \
    --so-pin "$(cat "$dev/so.pin")" --pin "$(cat "$dev/user.pin")" >/dev/null
  echo "idsign: created SoftHSM2 token \"$label\" in $dev/tokens"
fi

secret_file="$dev/demo-web.secret"
if ! "$idsign" key list --token="$label" --pin-file="$dev/user.pin" 2>/dev/null |
    grep -q "^$demo_key "; then
  # A stand-in for the secret a messenger vendor would issue.
  openssl rand -hex 20 > "$secret_file"
  "$idsign" key import --token="$label" --pin-file="$dev/user.pin" \
    --name="$demo_key" --secret-file="$secret_file"
fi

# The key that seals audit-log checkpoints (idempotent).
"$idsign" audit init --token="$label" --pin-file="$dev/user.pin" >/dev/null
audit_log="$dev/audit.log"

cat <<MSG

idsignd is starting on $listen with key "$demo_key" (token "$label").
From another shell, in $root:

  $idsign sign --server=$listen --key=$demo_key --user-id=42
  $idsign verify --server=$listen --key=$demo_key --user-id=42 --user-hash=HASH

The same value computed from the demo secret with OpenSSL:

  printf %s 42 | openssl dgst -sha256 -hmac "\$(cat $secret_file)"

Every call is recorded in $audit_log; check its chain with:

  SOFTHSM2_CONF=$SOFTHSM2_CONF $idsign audit verify --token=$label --pin-file=$dev/user.pin $audit_log

Stop the server with Ctrl-C.

MSG
exec "$idsignd" --listen="$listen" --token="$label" --pin-file="$dev/user.pin" \
  --audit-log="$audit_log"
