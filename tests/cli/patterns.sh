#!/usr/bin/env bash
# patterns.sh JETSIM — sim/scenarios/patterns.scn (dead letters, delayed
# jobs, per-key order with parallelism across keys; issue 14 item 5) as a
# user runs it: PASS on the model with its faults, its dead letters in the
# run database's dead_letters view; then, when a nats-server can be
# spawned, no divergence from the model fault-free (jetsim diff
# --without-faults) and PASS on it with its faults, both at time scale 2
# as in make chaos (~10 s each).
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
S=sim/scenarios/patterns.scn

"$J" run "$S" --seed 1 --db "$tmp/model.db" > "$tmp/run.out" 2>&1 || bad "model run: exit $? ($(tail -n 1 "$tmp/run.out"))"
grep -q '^dead-lettered  *[1-9]' "$tmp/run.out" || bad "model run: no dead letters reported"
n=$(sqlite3 "$tmp/model.db" "SELECT count(*) FROM dead_letters WHERE reason = 'max_deliver'" 2>&1)
[ "${n:-0}" -gt 0 ] 2>/dev/null || bad "model run: the dead_letters view has no max_deliver rows ($n)"
early=$(sqlite3 "$tmp/model.db" "SELECT count(*) FROM story WHERE kind = 'early'" 2>&1)
[ "$early" = 0 ] || bad "model run: $early deliveries handled before their time"

if ! command -v nats-server > /dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "patterns: the server runs SKIPPED (no nats-server)"
else
  "$J" diff "$S" --spawn --without-faults --time-scale 2 > "$tmp/diff.out" 2>&1; rc=$?
  if [ $rc -eq 4 ] && grep -qi 'libnats\|cnats' "$tmp/diff.out"; then
    echo "patterns: the server runs SKIPPED (no cnats)"
  else
    [ $rc -eq 0 ] || { cat "$tmp/diff.out"; bad "diff against a spawned server: exit $rc"; }
    "$J" run "$S" --spawn --time-scale 2 --seed 1 > "$tmp/server.out" 2>&1 ||
      { cat "$tmp/server.out"; bad "run with its faults on a spawned server: exit $?"; }
  fi
fi
# the closing lines .ci/run's summary looks for
echo "[==========] patterns.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] patterns.sh" || echo "[  FAILED  ] patterns.sh: $fails failure(s)"
[ $fails -eq 0 ] && echo "patterns: ok"
exit $((fails > 0))
