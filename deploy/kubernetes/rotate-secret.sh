#!/usr/bin/env bash
# Rotates the key held in a Kubernetes Secret: fetch the key, its history and the named keys' clients
# file into a private local copy, change them there with manage-key, and apply them to the Secret in one
# step, so every replica sees them swap together through `..data`.
#
#   deploy/kubernetes/rotate-secret.sh [--grace 10m | --revoke]    rotate the static key
#   deploy/kubernetes/rotate-secret.sh add NAME [--expires 30d]    a named key, printed once on stdout
#   deploy/kubernetes/rotate-secret.sh rotate NAME [--grace D | --revoke]   a new key for NAME, printed once
#   deploy/kubernetes/rotate-secret.sh remove NAME                 end NAME's key
#   deploy/kubernetes/rotate-secret.sh list                        the named keys (changes nothing)
#   (SECRET, NAMESPACE env to override)
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

# Named keys: `add NAME`, `remove NAME`, `rotate NAME` (a NAME, not an option, after rotate).
named=false
case "${1:-}" in
  add | remove | list) named=true ;;
  rotate) if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then named=true; fi ;;
esac

if kubectl -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
  fetch .api_key "$work/.api_key"
  fetch .api_key_history "$work/.api_key_history"
  fetch .api_clients "$work/.api_clients"
  # A Secret without named keys has no clients file; an empty one would not be one.
  [ -s "$work/.api_clients" ] || rm -f "$work/.api_clients"
  if $named; then
    # A new key goes to stdout, once: only its digest travels in the Secret.
    "$root/scripts/manage-key" "$@" --key-file "$work/.api_key" --clients-file "$work/.api_clients"
    if [ "$1" = list ]; then exit 0; fi
  else
    "$root/scripts/manage-key" rotate --key-file "$work/.api_key" "$@" >/dev/null
  fi
elif $named; then
  echo "No Secret $namespace/$secret yet: run $0 without arguments first to create it." >&2
  exit 1
else
  "$root/scripts/manage-key" generate --key-file "$work/.api_key" >/dev/null
fi

files=(--from-file=.api_key="$work/.api_key" --from-file=.api_key_history="$work/.api_key_history")
if [ -f "$work/.api_clients" ]; then files+=(--from-file=.api_clients="$work/.api_clients"); fi
kubectl -n "$namespace" create secret generic "$secret" "${files[@]}" \
  --dry-run=client -o yaml | kubectl -n "$namespace" apply -f -
echo "Secret $namespace/$secret updated; replicas pick the change up within the kubelet's sync period (about a minute)." >&2
if ! $named; then
  echo "Give clients the new key with: kubectl -n $namespace get secret $secret -o 'go-template={{ index .data \".api_key\" | base64decode }}'" >&2
fi
