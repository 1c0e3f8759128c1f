#!/usr/bin/env bash
# dist_swarm.sh [JETSIM] — throughput of the distributed swarm (jetsim swarm
# --queue, jetsim agent) with 1 agent and with 2 agents (--parallel 1 each)
# on one nats-server started on loopback (ci/nats-server.sh), medians of
# RUNS runs of SEEDS seeds of SCENARIO each:
#   dist.swarm_1agent_seeds_per_s: <median>   (every run listed after it)
#   dist.swarm_2agents_seeds_per_s: <median>
#   dist.swarm_scaling_2agents: <2 agents / 1 agent>
# A run's time is the swarm's own (its --json "seconds": submitting the
# jobs, then collecting every verdict). The agents are started before and
# stopped (SIGTERM) after each run; the server is stopped at the end.
# Environment: SEEDS (default 400), RUNS (default 3), SCENARIO (default
# sim/scenarios/buggy_ack_before_commit.scn). Exits 77 without nats-server.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
J="${1:-build/jetsim}"
SEEDS="${SEEDS:-400}"
RUNS="${RUNS:-3}"
SCENARIO="${SCENARIO:-sim/scenarios/buggy_ack_before_commit.scn}"
tmp="$(mktemp -d)"
name="bench-dist-$$"
export JETSIM_NATS_STATE="$tmp/nats"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ci/nats-server.sh stop "$name" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset NATS_URL # always a fresh local server: another's load is not ours to measure
if ! url="$(NATS_URL= ci/nats-server.sh start "$name" 2>"$tmp/err")"; then
  echo "dist.swarm: skipped (no nats-server: $(tail -n 1 "$tmp/err"))"
  exit 77
fi

# one_run AGENTS RUN: prints the run's seeds per second
one_run() {
  local n="$1" run="$2" agents=() p
  for _ in $(seq "$n"); do
    "$J" agent --queue "$url" --parallel 1 >>"$tmp/agents.log" 2>&1 &
    agents+=($!)
    pids+=($!)
  done
  "$J" swarm "$SCENARIO" --seeds "$SEEDS" --queue "$url" --run-id "bench-$$-$n-$run" --json "$tmp/run.json" \
    >"$tmp/run.out" 2>&1
  for p in "${agents[@]}"; do kill -TERM "$p"; done
  for p in "${agents[@]}"; do wait "$p"; done
  awk -v seeds="$SEEDS" 'match($0, /"seconds": [0-9.]+/) {
      s = substr($0, RSTART + 11, RLENGTH - 11); if (s > 0) printf "%.1f\n", seeds / s }' "$tmp/run.json"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A med
for n in 1 2; do
  : >"$tmp/figures"
  for r in $(seq "$RUNS"); do
    one_run "$n" "$r" >>"$tmp/figures"
  done
  if [ "$(grep -c . "$tmp/figures")" -ne "$RUNS" ]; then
    echo "dist.swarm: a run with $n agent(s) failed: $(tail -n 3 "$tmp/run.out")"
    exit 1
  fi
  med[$n]="$(median <"$tmp/figures")"
  label=$([ "$n" = 1 ] && echo 1agent || echo 2agents)
  echo "dist.swarm_${label}_seeds_per_s: ${med[$n]} (runs: $(tr '\n' ' ' <"$tmp/figures"); $SEEDS seeds of $(basename "$SCENARIO"))"
done
awk -v a="${med[1]}" -v b="${med[2]}" 'BEGIN { printf "dist.swarm_scaling_2agents: %.2f\n", b / a }'
