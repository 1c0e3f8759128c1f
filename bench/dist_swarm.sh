#!/usr/bin/env bash
# dist_swarm.sh [JETSIM] — throughput of the distributed swarm (jetsim swarm
# --queue, jetsim agent) with 1 agent and with 2 agents (--parallel 1 each)
# on one nats-server started on loopback (ci/nats-server.sh), medians of
# RUNS runs of SEEDS seeds of SCENARIO each:
#   dist.swarm_1agent_seeds_per_s: <median>   (every run listed after it)
#   dist.swarm_2agents_seeds_per_s: <median>
#   dist.swarm_scaling_2agents: <2 agents / 1 agent>
#   dist.local_scaling_2jobs: <local swarm --jobs 2 / --jobs 1>, the same
#       seeds measured in the same rounds: what this machine allowed then
#       (other processes compete for the cores), to compare against
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

# local_run JOBS: a local swarm's seeds per second, for reference
local_run() {
  "$J" swarm "$SCENARIO" --seeds "$SEEDS" --jobs "$1" --json "$tmp/local.json" >/dev/null 2>&1
  awk -v seeds="$SEEDS" 'match($0, /"seconds": [0-9.]+/) {
      s = substr($0, RSTART + 11, RLENGTH - 11); if (s > 0) printf "%.1f\n", seeds / s }' "$tmp/local.json"
}

echo "dist.swarm: load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
: >"$tmp/d1"; : >"$tmp/d2"; : >"$tmp/l1"; : >"$tmp/l2"
for r in $(seq "$RUNS"); do # interleaved, so each figure meets the same load
  for n in 1 2; do
    one_run "$n" "$r" >>"$tmp/d$n"
    local_run "$n" >>"$tmp/l$n"
  done
done
for f in d1 d2 l1 l2; do
  if [ "$(grep -c . "$tmp/$f")" -ne "$RUNS" ]; then
    echo "dist.swarm: a run failed ($f): $(tail -n 3 "$tmp/run.out")"
    exit 1
  fi
done
runs() { tr '\n' ' ' <"$tmp/$1" | sed 's/ $//'; }
d1="$(median <"$tmp/d1")" d2="$(median <"$tmp/d2")" l1="$(median <"$tmp/l1")" l2="$(median <"$tmp/l2")"
echo "dist.swarm_1agent_seeds_per_s: $d1 (runs: $(runs d1); $SEEDS seeds of $(basename "$SCENARIO"))"
echo "dist.swarm_2agents_seeds_per_s: $d2 (runs: $(runs d2))"
awk -v a="$d1" -v b="$d2" 'BEGIN { printf "dist.swarm_scaling_2agents: %.2f\n", b / a }'
echo "dist.local_1job_seeds_per_s: $l1 (runs: $(runs l1)); dist.local_2jobs_seeds_per_s: $l2 (runs: $(runs l2))"
awk -v a="$l1" -v b="$l2" 'BEGIN { printf "dist.local_scaling_2jobs: %.2f\n", b / a }'
echo "dist.swarm: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
