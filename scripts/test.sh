#!/usr/bin/env bash
# Runs airlock's whole test suite against the local PostgreSQL and MariaDB.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
go vet ./...
go test -count=1 -timeout 80m ./...
