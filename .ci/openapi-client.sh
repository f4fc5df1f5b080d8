#!/usr/bin/env bash
# Checks that KeyBox's OpenAPI document makes a working client with a real
# generator: starts the server on a scratch SQLite database, generates a Go
# client from its /openapi.json with oapi-codegen in a temporary module,
# checks that no member came out untyped, compiles it with
# .ci/openapi-client/main.go and runs that against the server (sign up, log
# in, create a client and a project, activate and validate the key).
# Needs Go and the module proxy; run from anywhere in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/keybox" ./cmd/keybox
mkdir "$work/data"
KEYBOX_ADDR=127.0.0.1:0 KEYBOX_DATABASE_URL="sqlite://$work/data/keybox.db" KEYBOX_LOG_FORMAT=json \
  KEYBOX_RATE_LIMIT=off "$work/keybox" serve 2>"$work/server.log" &
server_pid=$!
addr=
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*"msg":"listening","addr":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "openapi-client: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url="http://$addr"
curl -fsS "$url/openapi.json" -o "$work/openapi.json"

mkdir "$work/client"
cp "$repo/.ci/openapi-client/main.go" "$work/client/"
cd "$work/client"
go mod init example.com/openapi-client >/dev/null 2>&1
go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 \
  -generate types,client -package main -o keybox.gen.go "$work/openapi.json"

# Only the OpenAPI document itself is free-form; any other interface{} is a
# member whose type the document failed to give.
untyped=$(awk '/^(type|func) /{decl=$0} /interface\{\}/ && decl !~ /GetOpenAPIDocument/{print FILENAME ":" FNR ": " $0}' keybox.gen.go)
if [ -n "$untyped" ]; then
  echo "openapi-client: members without a type in the generated client:" >&2
  echo "$untyped" >&2
  exit 1
fi

go mod tidy >/dev/null 2>&1
go vet .
go build -o openapi-client .
./openapi-client "$url"
