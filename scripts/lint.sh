#!/usr/bin/env bash
# Runs airlock's static checks: gofmt, go vet, staticcheck on every package
# and errcheck on the audit paths (the gateway core and the audit log, where
# a dropped error is an unrecorded statement). The checkers are installed at
# the pinned versions below into a cache directory (AIRLOCK_LINT_BIN, default
# under the user cache), so that every run checks with the same rules.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2
ERRCHECK_VERSION=v1.30.0

bin="${AIRLOCK_LINT_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/airlock-lint}"
mkdir -p "$bin"
tool() { # name package version
	if [ ! -x "$bin/$1" ] || [ "$(cat "$bin/$1.version" 2>/dev/null)" != "$3" ]; then
		GOBIN="$bin" go install "$2@$3"
		echo "$3" >"$bin/$1.version"
	fi
}
tool staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
tool errcheck github.com/kisielk/errcheck "$ERRCHECK_VERSION"

status=0
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	status=1
fi
go vet ./... || status=1
"$bin/staticcheck" ./... || status=1
"$bin/errcheck" -ignoretests ./internal/gateway/ ./internal/audit/ || status=1
exit $status
