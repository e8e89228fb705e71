#!/usr/bin/env bash
# Rotates the key held in a Kubernetes Secret: fetch the key and its history into a private
# local copy, rotate there with manage-key, and apply both files to the Secret in one step,
# so every replica sees the new key and its history swap together through `..data`.
#
#   deploy/kubernetes/rotate-secret.sh [--grace 10m | --revoke]    (SECRET, NAMESPACE env to override)
set -euo pipefail
secret=${SECRET:-qwen-api-key}
namespace=${NAMESPACE:-default}
root=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
umask 077

fetch() { # fetch FIELD FILE: one field of the Secret, decoded, or nothing when absent
  kubectl -n "$namespace" get secret "$secret" -o "go-template={{ index .data \"$1\" | base64decode }}" >"$2" 2>/dev/null || : >"$2"
}

if kubectl -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
  fetch .api_key "$work/.api_key"
  fetch .api_key_history "$work/.api_key_history"
  "$root/scripts/manage-key" rotate --key-file "$work/.api_key" "$@" >/dev/null
else
  "$root/scripts/manage-key" generate --key-file "$work/.api_key" >/dev/null
fi

kubectl -n "$namespace" create secret generic "$secret" \
  --from-file=.api_key="$work/.api_key" \
  --from-file=.api_key_history="$work/.api_key_history" \
  --dry-run=client -o yaml | kubectl -n "$namespace" apply -f -
echo "Secret $namespace/$secret updated; replicas pick the key up within the kubelet's sync period (about a minute)." >&2
echo "Give clients the new key with: kubectl -n $namespace get secret $secret -o 'go-template={{ index .data \".api_key\" | base64decode }}'" >&2
