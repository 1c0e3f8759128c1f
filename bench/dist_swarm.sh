#!/usr/bin/env bash
# dist_swarm.sh [JETSIM] — throughput of the distributed swarm (jetsim swarm
# --queue, jetsim agent) with 1 agent and with 2 agents (--parallel 1 each)
# on one nats-server started on loopback (ci/nats-server.sh), medians of
# RUNS runs of SEEDS seeds of SCENARIO each:
#   dist.swarm_1agent_seeds_per_s: <median>   (every run listed after it)
#   dist.swarm_2agents_seeds_per_s: <median>
#   dist.swarm_scaling_2agents: <2 agents / 1 agent>
#   dist.cpu_ms_per_seed_1agent: runners R agents A server S swarm W
#   dist.cpu_ms_per_seed_2agents: (the same with 2 agents)
#       CPU time per seed, summed over the runs: the seed runners (the
#       seeds themselves), the agents' own processes, the nats-server and
#       the swarm (submitting, collecting). What is not the runners'
#       shares the cores with them: with 2 agents on 2 cores the scaling
#       cannot pass 2 R / (R + A + S + W).
#   dist.agent_waits_1agent: server W ms/seed, J jobs/fetch
#   dist.agent_waits_2agents: (the same with 2 agents)
#       From the agents' own accounts (their last line): how long their
#       thread waited on the server (fetches, PubAcks not yet come, acks)
#       per seed, and how many jobs a fetch brought on average. The
#       agent's thread is serial: while it waits, no runner gets a job.
#   dist.local_scaling_2jobs: <local swarm --jobs 2 / --jobs 1>, the same
#       seeds measured in the same rounds: what this machine allowed then
#       (other processes compete for the cores), to compare against
# Then the same for LONG_SEEDS seeds of LONG_SCENARIO, whose seeds run
# tens of milliseconds (names ending in _long); LONG_SEEDS=0 skips it.
# A run's time is the swarm's own (its --json "seconds": submitting the
# jobs, then collecting every verdict). The agents are started before and
# stopped (SIGTERM) after each run; the server is stopped at the end.
# Environment: SEEDS (default 400), RUNS (default 3), SCENARIO (default
# sim/scenarios/buggy_ack_before_commit.scn), LONG_SEEDS (default 100),
# LONG_SCENARIO (default sim/scenarios/workqueue_crashes.scn). Exits 77
# without nats-server.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
J="${1:-build/jetsim}"
SEEDS="${SEEDS:-400}"
RUNS="${RUNS:-3}"
SCENARIO="${SCENARIO:-sim/scenarios/buggy_ack_before_commit.scn}"
LONG_SEEDS="${LONG_SEEDS:-100}"
LONG_SCENARIO="${LONG_SCENARIO:-sim/scenarios/workqueue_crashes.scn}"
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
server_pid="$(cat "$JETSIM_NATS_STATE/$name/pid" 2>/dev/null)"
tck="$(getconf CLK_TCK)"

# ticks PID [SELF_ONLY]: CPU ticks of PID (user + system), with its reaped
# children's unless SELF_ONLY; 0 when it cannot be read
ticks() {
  awk -v self="${2:-}" '{ print $14 + $15 + (self ? 0 : $16 + $17) }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# one_run SCENARIO SEEDS AGENTS RUN: prints the run's seeds per second;
# appends "runner agent server swarm" CPU ticks to $tmp/cpu<AGENTS>
one_run() {
  local scn="$1" seeds="$2" n="$3" run="$4" agents=() p c s0 s1 a=0 r=0
  for _ in $(seq "$n"); do
    "$J" agent --queue "$url" --parallel 1 >>"$tmp/agents$n.log" 2>&1 &
    agents+=($!)
    pids+=($!)
  done
  s0="$(ticks "$server_pid")"
  TIMEFORMAT='%U %S'
  { time "$J" swarm "$scn" --seeds "$seeds" --queue "$url" --run-id "bench-$$-$n-$run-$seeds" \
      --json "$tmp/run.json" >"$tmp/run.out" 2>&1; } 2>"$tmp/swarm.time"
  s1="$(ticks "$server_pid")"
  for p in "${agents[@]}"; do # before SIGTERM: the runners are alive, not yet reaped
    a=$((a + $(ticks "$p")))
    for c in $(pgrep -P "$p"); do r=$((r + $(ticks "$c" self))); done
  done
  for p in "${agents[@]}"; do kill -TERM "$p"; done
  for p in "${agents[@]}"; do wait "$p"; done
  awk -v r="$r" -v a="$a" -v s="$((s1 - s0))" -v t="$tck" \
    '{ printf "%d %d %d %.0f\n", r, a, s, ($1 + $2) * t }' "$tmp/swarm.time" >>"$tmp/cpu$n"
  awk -v seeds="$seeds" 'match($0, /"seconds": [0-9.]+/) {
      s = substr($0, RSTART + 11, RLENGTH - 11); if (s > 0) printf "%.1f\n", seeds / s }' "$tmp/run.json"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# local_run SCENARIO SEEDS JOBS: a local swarm's seeds per second, for reference
local_run() {
  "$J" swarm "$1" --seeds "$2" --jobs "$3" --json "$tmp/local.json" >/dev/null 2>&1
  awk -v seeds="$2" 'match($0, /"seconds": [0-9.]+/) {
      s = substr($0, RSTART + 11, RLENGTH - 11); if (s > 0) printf "%.1f\n", seeds / s }' "$tmp/local.json"
}

# cpu_line AGENTS SEEDS_PER_RUN: the CPU per seed of $tmp/cpu<AGENTS>
cpu_line() {
  awk -v t="$tck" -v seeds="$(($2 * RUNS))" '{ r += $1; a += $2; s += $3; w += $4 }
    END { f = 1000 / t / seeds; printf "runners %.2f agents %.2f server %.2f swarm %.2f\n", r * f, a * f, s * f, w * f }' \
    "$tmp/cpu$1"
}

# waits_line AGENTS: the agents' waits of $tmp/agents<AGENTS>.log
waits_line() {
  awk '/^agent: waited/ { w += $3; x = $8; sub(/\(/, "", x); f += x; j += $10 }
    END { if (j > 0) printf "server %.3f ms/seed, %.2f jobs/fetch\n", w * 1000 / j, j / f; else print "(not reported)" }' \
    "$tmp/agents$1.log"
}

# measure SCENARIO SEEDS SUFFIX: the figures above for one scenario
measure() {
  local scn="$1" seeds="$2" sfx="$3" r n f
  : >"$tmp/agents1.log"; : >"$tmp/agents2.log"; : >"$tmp/d1"; : >"$tmp/d2"; : >"$tmp/l1"; : >"$tmp/l2"; : >"$tmp/cpu1"; : >"$tmp/cpu2"
  for r in $(seq "$RUNS"); do # interleaved, so each figure meets the same load
    for n in 1 2; do
      one_run "$scn" "$seeds" "$n" "$r" >>"$tmp/d$n"
      local_run "$scn" "$seeds" "$n" >>"$tmp/l$n"
    done
  done
  for f in d1 d2 l1 l2; do
    if [ "$(grep -c . "$tmp/$f")" -ne "$RUNS" ]; then
      echo "dist.swarm: a run failed ($f, $(basename "$scn")): $(tail -n 3 "$tmp/run.out")"
      exit 1
    fi
  done
  runs() { tr '\n' ' ' <"$tmp/$1" | sed 's/ $//'; }
  local d1 d2 l1 l2
  d1="$(median <"$tmp/d1")" d2="$(median <"$tmp/d2")" l1="$(median <"$tmp/l1")" l2="$(median <"$tmp/l2")"
  echo "dist.swarm_1agent_seeds_per_s$sfx: $d1 (runs: $(runs d1); $seeds seeds of $(basename "$scn"))"
  echo "dist.swarm_2agents_seeds_per_s$sfx: $d2 (runs: $(runs d2))"
  awk -v a="$d1" -v b="$d2" -v s="$sfx" 'BEGIN { printf "dist.swarm_scaling_2agents%s: %.2f\n", s, b / a }'
  echo "dist.cpu_ms_per_seed_1agent$sfx: $(cpu_line 1 "$seeds")"
  echo "dist.cpu_ms_per_seed_2agents$sfx: $(cpu_line 2 "$seeds")"
  echo "dist.agent_waits_1agent$sfx: $(waits_line 1)"
  echo "dist.agent_waits_2agents$sfx: $(waits_line 2)"
  echo "dist.local_1job_seeds_per_s$sfx: $l1 (runs: $(runs l1)); dist.local_2jobs_seeds_per_s$sfx: $l2 (runs: $(runs l2))"
  awk -v a="$l1" -v b="$l2" -v s="$sfx" 'BEGIN { printf "dist.local_scaling_2jobs%s: %.2f\n", s, b / a }'
}

echo "dist.swarm: load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
measure "$SCENARIO" "$SEEDS" ""
[ "$LONG_SEEDS" -gt 0 ] && measure "$LONG_SCENARIO" "$LONG_SEEDS" "_long"
echo "dist.swarm: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
