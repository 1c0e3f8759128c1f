#!/usr/bin/env bash
# dist_swarm.sh JETSIM — the distributed swarm (issue 15, item 4) on a
# 3-node cluster (ci/cluster.sh) with 3 agents:
#  1. 300 seeds of sim/scenarios/buggy_ack_before_commit.scn; agent 1,
#     alone at first, is killed with -9 mid-seed, then agents 2 and 3
#     finish: every seed reported once, the same failing seeds as a local
#     swarm of the same seeds, none lost (the
#     killed agent's seeds, the one it ran and those queued behind it in
#     its runner, come back after AckWait, 2 s here);
#  2. a SIGTERM'd agent hands back (naks) the seeds it holds and exits 0,
#     and seeds longer than AckWait are kept alive by in-progress acks (no
#     seed is run twice: the swarm would say so);
#  2b. a scenario travels with its path (an agent started in / replays
#     the workload file beside it), and another scenario under a run id
#     already used is refused; --withdraw takes back the jobs of a swarm
#     killed with -9;
#  3. no process is left behind: every agent and seed runner runs as
#     $tmp/jetsim and every node with its config under $tmp (pgrep -f).
# Exits 77 (skipped) without nats-server or a jetsim built with libnats.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp="$(mktemp -d)"
name="jetsim-dist-$$"
export JETSIM_CLUSTER_STATE="$tmp/cluster"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ci/cluster.sh stop "$name" >/dev/null 2>&1
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! "$J" version | grep -q 'jetstream: yes'; then
  echo "SKIPPED: this jetsim has no jetstream backend"
  exit 77
fi
if ! urls="$(ci/cluster.sh start "$name" 2>"$tmp/cluster.err")"; then
  echo "SKIPPED: no cluster could be started (nats-server): $(tail -n 1 "$tmp/cluster.err")"
  exit 77
fi
ln -s "$J" "$tmp/jetsim"
JT="$tmp/jetsim"
scn=sim/scenarios/buggy_ack_before_commit.scn

agent() { # agent NAME ARGS...: starts an agent in the background, pid in $agent_pid
  local n="$1"
  shift
  "$JT" agent --queue "$urls" --replicas 3 "$@" >"$tmp/$n.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
}

# running PID: sets nrun to how many seeds agent PID is running now (its
# seed runners, sim/cli/seedrunner.h, are named jetsim-seed while they run
# one). Bash builtins alone, no fork: with a pgrep a look, the looks were
# so sparse under load that a swarm of 300 short seeds could end unseen
# once the agents no longer waited on the server three times a seed.
running() {
  local kids= k comm
  nrun=0
  { read -r kids <"/proc/$1/task/$1/children"; } 2>/dev/null
  for k in $kids; do
    comm=
    { read -r comm <"/proc/$k/comm"; } 2>/dev/null
    [ "$comm" = jetsim-seed ] && nrun=$((nrun + 1))
  done
  return 0
}

# ---- 1. 300 seeds, one agent killed with -9 mid-seed -------------------------
# Agent 1 starts alone, so no other agent can finish the swarm before it
# is caught running a seed; agents 2 and 3 start once it is killed and
# finish the run, its seeds included (they come back after AckWait).
agent a1 --parallel 1 --ack-wait 2s
a1=$agent_pid
timeout 300 "$JT" swarm "$scn" --seeds 300 --queue "$urls" --replicas 3 --run-id "t$$" --list \
  --json "$tmp/dist.json" >"$tmp/dist.out" 2>&1 &
swarm=$!
pids+=("$swarm")
# mid-run: agent 1 runs a seed. It is frozen (SIGSTOP) before it is looked
# at again: a frozen agent acks nothing, so a seed its runner still runs
# then is a seed held and not acked, whatever the load (the seeds queued
# behind it in the agent must come back as well).
killed=
for _ in $(seq 12000); do
  running "$a1"
  if [ "$nrun" -ge 1 ]; then
    kill -STOP "$a1"
    running "$a1"
    if [ "$nrun" -ge 1 ]; then
      kill -9 "$a1"
      wait "$a1" 2>/dev/null # (and no "Killed" line from the shell)
      killed=1
      break
    fi
    kill -CONT "$a1"
  fi
  kill -0 "$swarm" 2>/dev/null || break
  sleep 0.005
done
for i in 2 3; do
  agent "a$i" --parallel 1 --ack-wait 2s
  eval "a$i=$agent_pid"
done
[ -n "$killed" ] || bad "agent 1 was never seen running a seed, so it was not killed mid-seed"
wait "$swarm"
rc=$?
[ $rc -eq 1 ] || bad "distributed swarm: exit $rc, expected 1 (the bug found): $(tail -n 5 "$tmp/dist.out")"
grep -q '^swarm: 300 seeds in' "$tmp/dist.out" || bad "distributed swarm: not 300 seeds reported: $(grep '^swarm:' "$tmp/dist.out")"
grep -q '"seeds": 300,' "$tmp/dist.json" || bad "distributed swarm: the JSON does not say 300 seeds"

"$J" swarm "$scn" --seeds 300 --list >"$tmp/local.out" 2>&1
grep -E '^  seed [0-9]+:' "$tmp/local.out" | sed -E 's/^  seed ([0-9]+):.*/\1/' | sort -n >"$tmp/local.seeds"
grep -E '^  seed [0-9]+:' "$tmp/dist.out" | sed -E 's/^  seed ([0-9]+):.*/\1/' | sort -n >"$tmp/dist.seeds"
[ -s "$tmp/local.seeds" ] || bad "the local swarm found no failing seed: the comparison would prove nothing"
cmp -s "$tmp/local.seeds" "$tmp/dist.seeds" ||
  bad "failing seeds differ from a local swarm's ($(wc -l <"$tmp/local.seeds") local, $(wc -l <"$tmp/dist.seeds") distributed)"
[ -z "$(uniq -d "$tmp/dist.seeds")" ] || bad "a failing seed was reported twice"
# the same verdict texts, not only the same seeds
diff <(grep -A1 -E '^  seed [0-9]+:' "$tmp/local.out") <(grep -A1 -E '^  seed [0-9]+:' "$tmp/dist.out") >/dev/null ||
  bad "the failing seeds' violations differ from a local swarm's"
echo "phase 1: $(grep -c . "$tmp/dist.seeds") failing seeds of 300, the same as locally; agent 1 killed with -9 mid-seed"

# the survivors stop cleanly on SIGTERM
for i in 2 3; do
  eval "p=\$a$i"
  kill -TERM "$p"
  wait "$p"
  r=$?
  [ $r -eq 0 ] || bad "agent $i exited $r on SIGTERM"
  grep -q 'stopped by SIGTERM' "$tmp/a$i.log" || bad "agent $i did not say it stopped: $(cat "$tmp/a$i.log")"
done

# ---- 2. hand back on SIGTERM; in-progress acks for seeds longer than AckWait -
# Each seed of this scenario runs for seconds (200,000 jobs).
cat >"$tmp/long.scn" <<'SCN'
stream JOBS subjects=jobs.> retention=workqueue storage=file
consumer JOBS workers ack_wait=30s max_deliver=5
publish jobs.created rate=50000/s count=200000 msg_id=job
workers 8 batch=100 handle=1ms..2ms idempotent=yes
expect no_loss no_double_completion drained_within=10m
SCN
agent b1 --parallel 2 --ack-wait 1s
b1=$agent_pid
timeout 300 "$JT" swarm "$tmp/long.scn" --seeds 4 --queue "$urls" --run-id "l$$" >"$tmp/long.out" 2>&1 &
swarm=$!
pids+=("$swarm")
for _ in $(seq 600); do
  running "$b1"
  [ "$nrun" -ge 2 ] && break
  sleep 0.05
done
kill -TERM "$b1"
wait "$b1"
r=$?
[ $r -eq 0 ] || bad "agent b1 exited $r on SIGTERM"
grep -q 'stopped by SIGTERM: .* 2 jobs handed back' "$tmp/b1.log" || bad "agent b1 did not hand back its 2 seeds: $(cat "$tmp/b1.log")"
agent b2 --parallel 1 --ack-wait 1s
b2=$agent_pid
agent b3 --parallel 1 --ack-wait 1s
b3=$agent_pid
wait "$swarm"
rc=$?
[ $rc -eq 0 ] || bad "long swarm: exit $rc: $(tail -n 3 "$tmp/long.out")"
grep -q '^swarm: 4 seeds in' "$tmp/long.out" || bad "long swarm: not 4 seeds: $(grep '^swarm' "$tmp/long.out")"
grep -q 'stored already' "$tmp/b2.log" "$tmp/b3.log" &&
  bad "a seed longer than AckWait ran twice: the in-progress acks did not keep it: $(cat "$tmp/b2.log" "$tmp/b3.log")"
grep -q 'refused' "$tmp/b2.log" "$tmp/b3.log" && bad "an agent had an ack refused: $(cat "$tmp/b2.log" "$tmp/b3.log")"
kill -TERM "$b2" "$b3"
wait "$b2" "$b3"
echo "phase 2: a SIGTERM'd agent handed back 2 seeds; 4 seeds of ~$(sed -nE 's/^swarm: 4 seeds in ([0-9.]+) s.*/\1/p' "$tmp/long.out") s in all with AckWait 1 s, (see above for any seed run twice)"

# ---- 2b. scenario paths and run ids -------------------------------------------
# A scenario travels with its path: an agent started in / reads the
# workload file replay_orders.scn names beside it. A run id belongs to the
# scenario it was first submitted with: another scenario under it is
# refused (exit 2), not counted with the first one's verdicts.
( cd / && exec "$JT" agent --queue "$urls" --replicas 3 --parallel 1 >"$tmp/c1.log" 2>&1 ) &
c1=$!
pids+=("$c1")
timeout 120 "$JT" swarm sim/scenarios/replay_orders.scn --seeds 3 --queue "$urls" --replicas 3 --run-id "r$$" \
  >"$tmp/replay.out" 2>&1
rc=$?
[ $rc -eq 0 ] || bad "replay_orders.scn on an agent started in /: exit $rc: $(tail -n 3 "$tmp/replay.out")"
timeout 120 "$JT" swarm "$scn" --seeds 3 --queue "$urls" --replicas 3 --run-id "r$$" >"$tmp/rerun.out" 2>&1
rc=$?
{ [ $rc -eq 2 ] && grep -q 'submitted with another scenario' "$tmp/rerun.out"; } ||
  bad "another scenario under run id r$$: exit $rc, expected 2 and a refusal: $(tail -n 2 "$tmp/rerun.out")"
kill -TERM "$c1"
wait "$c1"
# a swarm killed with -9 leaves its jobs; --withdraw takes them back
timeout -s KILL 8 "$JT" swarm "$scn" --seeds 20 --queue "$urls" --replicas 3 --run-id "w$$" >"$tmp/killed.out" 2>&1
"$JT" swarm --queue "$urls" --withdraw "w$$" >"$tmp/withdraw.out" 2>&1 ||
  bad "--withdraw: exit $?: $(cat "$tmp/withdraw.out")"
grep -q '20 jobs of run w'"$$"' not yet taken were withdrawn' "$tmp/withdraw.out" ||
  bad "--withdraw did not take back the 20 jobs of the killed swarm: $(cat "$tmp/withdraw.out")"
echo "phase 2b: a replay scenario ran on an agent started in /; another scenario under its run id was refused;" \
  "--withdraw took back a killed swarm's jobs"

# ---- 3. nothing left behind ----------------------------------------------------
ci/cluster.sh stop "$name" >/dev/null 2>&1
for _ in $(seq 30); do # a process that was killed may take a moment to go
  left="$(pgrep -f "$tmp" | tr '\n' ' ')"
  [ -z "$left" ] && break
  sleep 0.1
done
if [ -n "$left" ]; then
  bad "processes left behind: $left: $(ps -o pid=,stat=,args= -p "${left// /,}" 2>&1)"
  kill -9 $left 2>/dev/null
fi

echo "[==========] dist_swarm.sh: every check run."
if [ $fails -ne 0 ]; then
  echo "[  FAILED  ] dist_swarm.sh: $fails failure(s)"
  exit 1
fi
echo "[  PASSED  ] dist_swarm.sh"
