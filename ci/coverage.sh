#!/usr/bin/env bash
# Line coverage of the library under the whole test suite (gcovr).
# Writes build-cov/coverage/index.html and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
make coverage
