#!/usr/bin/env bash
# tests/chaos/no_leftovers.sh — no nats-server (nor its temporary store)
# outlives a jetsim command that spawned it: after a normal end, after
# Ctrl-C (SIGINT) in the middle of a run, after SIGTERM, and after kill -9
# of jetsim itself (the servers have PR_SET_PDEATHSIG). Exit 0 when all
# hold, 1 otherwise, 77 when there is no nats-server binary.
#
#   tests/chaos/no_leftovers.sh [JETSIM]      (default build/jetsim)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
JETSIM="${1:-build/jetsim}"
export TMPDIR="$(mktemp -d)"        # spawn directories land here, and only ours
trap 'rm -rf "$TMPDIR"' EXIT
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "no_leftovers: SKIPPED (no nats-server binary)"; exit 77
fi
fail=0
scn=sim/scenarios/cluster_leader_kill.scn

# Servers whose config lives under our TMPDIR, i.e. spawned by this test.
ours() { pgrep -f "nats-server -c $TMPDIR/" || true; }

check() { # NAME EXPECTED_RC RC
  local left dirs
  sleep 0.5
  left="$(ours)"
  dirs="$(find "$TMPDIR" -maxdepth 1 -name 'jetsim-spawn-*' 2>/dev/null)"
  if [ -n "$left" ] || { [ "$1" != "kill -9" ] && [ -n "$dirs" ]; } || [ "$3" != "$2" ]; then
    echo "no_leftovers: $1: FAILED (exit $3, wanted $2; servers left: ${left:-none}; dirs left: ${dirs:-none})"
    fail=1
  else
    echo "no_leftovers: $1: ok (exit $3, no server left${dirs:+; its directory stays, as a kill -9 cannot clean up})"
  fi
  pkill -9 -f "nats-server -c $TMPDIR/" 2>/dev/null || true
  rm -rf "$TMPDIR"/jetsim-spawn-*
}

# Starts a cluster run in the background, waits until its servers are up,
# sends SIG to jetsim, and checks.
interrupt() { # SIG NAME EXPECTED_RC
  "$JETSIM" run "$scn" --spawn cluster >"$TMPDIR/out" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 200; i++)); do
    [ "$(ours | wc -l)" -ge 3 ] && break
    sleep 0.05
  done
  sleep 0.5
  if ! kill -"$1" "$pid" 2>/dev/null; then
    wait "$pid"
    echo "no_leftovers: $2: jetsim ended (exit $?) before the signal; its output:"
    tail -n 20 "$TMPDIR/out"
    check "$2" "$3" "ended early"
    return
  fi
  wait "$pid" 2>/dev/null
  check "$2" "$3" "$?"
}

"$JETSIM" run sim/scenarios/steady_per_key.scn --spawn >"$TMPDIR/out" 2>&1
check "normal end" 0 "$?"
interrupt INT "Ctrl-C (SIGINT)" 130
interrupt TERM "SIGTERM" 130
interrupt KILL "kill -9" 137
exit $fail
