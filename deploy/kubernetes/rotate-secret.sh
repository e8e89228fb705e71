#!/usr/bin/env bash
# Rotates the key held in a Kubernetes Secret: read the key, its history and the named keys' clients
# file into a private local copy, change them there with manage-key, and write them back to the Secret in
# one `kubectl replace`, so every replica sees them swap together through `..data`. The replace carries
# the resourceVersion that was read: if anyone changed the Secret meanwhile (another rotation, say), the
# API server refuses it (Conflict) and nothing changes, instead of one rotation silently undoing the other.
#
#   deploy/kubernetes/rotate-secret.sh [--grace DURATION | --revoke] [--create]   the static key
#   deploy/kubernetes/rotate-secret.sh add NAME [--expires D]                      a named key, printed once
#   deploy/kubernetes/rotate-secret.sh rotate NAME [--grace D | --revoke]          a new key for NAME, printed once
#   deploy/kubernetes/rotate-secret.sh remove NAME                                 NAME's key ends
#   deploy/kubernetes/rotate-secret.sh list                                        the named keys (changes nothing)
#   (SECRET, default qwen-api-key, and NAMESPACE, default default, from the environment)
#
# Only a Secret that kubectl reports as NotFound is created, and only with --create (a first key and
# its history; there is no old key, so --grace and --revoke are refused there). Any other failure to
# read it (no cluster, no rights, another context or namespace) exits 1 with kubectl's own message and
# changes nothing: a guess there would replace the live key with no window.
set -euo pipefail
secret=${SECRET:-qwen-api-key}
namespace=${NAMESPACE:-default}
root=$(cd "$(dirname "$0")/../.." && pwd)
me=rotate-secret.sh

usage="usage: $me [--grace DURATION | --revoke] [--create] | add NAME [--expires D] | rotate NAME [...] | remove NAME | list   (SECRET=$secret, NAMESPACE=$namespace)"
create=false
window=() # the rotation's window for the old key, passed to manage-key as given
named=()  # a named-key command (add NAME, rotate NAME, remove NAME, list), passed to manage-key as given
case "${1:-}" in
  add | remove | list) named=("$@"); shift $# ;;
  rotate) if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then named=("$@"); shift $#; fi ;;
esac
while [ $# -gt 0 ]; do
  case $1 in
    --create) create=true ;;
    --revoke) window+=(--revoke) ;;
    --grace)
      [ $# -ge 2 ] || { echo "$me: --grace needs a duration" >&2; exit 2; }
      window+=(--grace "$2")
      shift ;;
    --grace=*) window+=("$1") ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "$me: unknown argument \"$1\"" >&2; echo "$usage" >&2; exit 2 ;;
  esac
  shift
done

work=$(mktemp -d)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
umask 077

# One read of the whole Secret: either it is there, or kubectl says exactly why not.
if kubectl -n "$namespace" get secret "$secret" -o json >"$work/secret.json" 2>"$work/get.err"; then
  node -e '
    const fs = require("node:fs");
    const [file, dir] = process.argv.slice(1);
    const data = JSON.parse(fs.readFileSync(file, "utf8")).data ?? {};
    for (const name of [".api_key", ".api_key_history", ".api_clients"]) {
      if (typeof data[name] === "string") fs.writeFileSync(`${dir}/${name}`, Buffer.from(data[name], "base64"), { mode: 0o600 });
    }' "$work/secret.json" "$work"
  if [ ! -s "$work/.api_key" ]; then
    echo "$me: Secret $namespace/$secret holds no .api_key to rotate; nothing changed" >&2
    exit 1
  fi
  if [ ${#named[@]} -gt 0 ]; then
    # A new named key goes to stdout, once: only its digest travels in the Secret.
    "$root/scripts/manage-key" "${named[@]}" --key-file "$work/.api_key" --clients-file "$work/.api_clients"
    if [ "${named[0]}" = list ]; then exit 0; fi
  else
    "$root/scripts/manage-key" rotate --key-file "$work/.api_key" ${window[@]+"${window[@]}"} >/dev/null
  fi
elif grep -Eq "^Error from server \(NotFound\): secrets? \"$secret\" not found" "$work/get.err"; then
  if [ ${#named[@]} -gt 0 ]; then
    cat "$work/get.err" >&2
    echo "$me: Secret $namespace/$secret does not exist; create it first with $me --create (nothing changed)" >&2
    exit 1
  fi
  if ! $create; then
    cat "$work/get.err" >&2
    echo "$me: Secret $namespace/$secret does not exist; run again with --create to create it with a new key (nothing changed)" >&2
    exit 1
  fi
  if [ ${#window[@]} -gt 0 ]; then
    echo "$me: Secret $namespace/$secret does not exist, so there is no old key for --grace or --revoke; nothing changed (--create alone creates it)" >&2
    exit 1
  fi
  "$root/scripts/manage-key" generate --key-file "$work/.api_key" >/dev/null
else
  cat "$work/get.err" >&2
  echo "$me: cannot read Secret $namespace/$secret (kubectl's message above); nothing changed" >&2
  exit 1
fi

# The files in one Secret manifest. An existing Secret is written back as it was read (its labels,
# annotations and resourceVersion kept) with only the three files changed, by `kubectl replace`: a
# write that fails on a Conflict changes nothing. A new one is made with `kubectl create`, which fails
# if someone else created it meanwhile.
verb=create
if [ -s "$work/secret.json" ]; then verb=replace; fi
if ! node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const [namespace, name, keyFile, readFile] = process.argv.slice(1);
  const secret = fs.existsSync(readFile) && fs.statSync(readFile).size > 0
    ? JSON.parse(fs.readFileSync(readFile, "utf8"))
    : { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name, namespace } };
  if (secret.metadata) delete secret.metadata.managedFields;
  const data = { ...(secret.data ?? {}) };
  for (const [field, file] of [[".api_key", keyFile], [".api_key_history", `${keyFile}_history`], [".api_clients", path.join(path.dirname(keyFile), ".api_clients")]]) {
    if (field === ".api_clients" && !fs.existsSync(file)) continue;
    data[field] = fs.readFileSync(file).toString("base64");
  }
  process.stdout.write(JSON.stringify({ ...secret, data }));
' "$namespace" "$secret" "$work/.api_key" "$work/secret.json" | kubectl -n "$namespace" "$verb" -f - >&2; then
  if [ "$verb" = replace ]; then
    echo "$me: could not write Secret $namespace/$secret (kubectl's message above; a Conflict means it changed since it was read, by another rotation perhaps); nothing changed, run again" >&2
  else
    echo "$me: could not create Secret $namespace/$secret (kubectl's message above); nothing changed" >&2
  fi
  exit 1
fi
echo "Secret $namespace/$secret updated; replicas pick the change up within the kubelet's sync period (about a minute)." >&2
if [ ${#named[@]} -eq 0 ]; then
  echo "Give clients the new key with: kubectl -n $namespace get secret $secret -o 'go-template={{ index .data \".api_key\" | base64decode }}'" >&2
fi
