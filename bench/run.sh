#!/usr/bin/env bash
# Benchmark vitrine against Hugo: `bench/run.sh [PAGES...]` (default 1000 10000).
# Thin wrapper over bench.py; see bench/README.md. Never run by the tests.
set -euo pipefail
exec python3 "$(dirname "$0")/bench.py" "$@"
