#!/usr/bin/env bash
# ci/coverage.sh — line coverage of the library under the whole test suite.
# Runs `make coverage` (the suite built with --coverage in build-cov/, then
# gcovr over core/, backends/ and sim/), keeps the HTML report in
# build-cov/coverage/index.html, and prints the line percentage last, as
# "line coverage: NN.N%". Exits non-zero when the tests or gcovr fail.
#
# It is not a gate: no threshold is enforced here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

make coverage 2>&1 | tee "$log"

# gcovr --print-summary writes "lines: 87.3% (1234 out of 1413)".
lines="$(grep -E '^lines: [0-9.]+%' "$log" | tail -n 1 || true)"
if [ -z "$lines" ]; then
  echo "ci/coverage.sh: gcovr printed no line summary" >&2
  exit 1
fi
echo
echo "line coverage: $(echo "$lines" | sed -E 's/^lines: ([0-9.]+%) \(([0-9]+) out of ([0-9]+)\).*/\1 (\2 of \3 lines)/')"
echo "report: build-cov/coverage/index.html"
