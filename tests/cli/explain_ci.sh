#!/usr/bin/env bash
# explain_ci.sh JETSIM — what users read (issue 14, items 1 and 3):
# `jetsim explain` tells the failing job's story of the shrunk buggy
# scenario (seed 1) and a redelivered job's story with its reasons; the
# run database's views name what its integers mean; swarm groups 300
# failing seeds into one screen and still lists them one by one with
# --list; --json and --junit of run, swarm and diff parse with Python's
# json and xml.etree (diff only when nats-server is installed).
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"

# ---- explain: the failing job of the shrunk buggy scenario ----
S=tests/scenarios/buggy_ack_before_commit.shrunk.scn
"$J" run "$S" --seed 1 --db "$tmp/bug.db" >/dev/null; rc=$?
[ $rc -eq 1 ] || bad "the shrunk buggy scenario exited $rc, not 1"
"$J" explain "$tmp/bug.db" >"$tmp/explain.out"; rc=$?
[ $rc -eq 0 ] || bad "explain exited $rc"
has "$tmp/explain.out" "verdict: FAIL (safety): no_loss: job 235"
has "$tmp/explain.out" "+3.000 s  crash worker 1 after_commit (line 7)"
has "$tmp/explain.out" "the first violation names job 235:"
has "$tmp/explain.out" "+1.170 s  published: the stream stored it at sequence 235 (PubAck)"
has "$tmp/explain.out" "+2.996 s  delivered to worker 1 (attempt 1)"
has "$tmp/explain.out" "acked by worker 1: the stream forgets it, before the master has it done (commit=after_ack)"
has "$tmp/explain.out" "worker 1 crashed holding it: its ack had gone, its commit never happened"
has "$tmp/explain.out" "in the master at the end: running, 1 attempt(s), never completed"
# the same job asked for by number, and by its worker
"$J" explain "$tmp/bug.db" --job 235 --worker 1 >"$tmp/job.out" || bad "explain --job 235 --worker 1 failed"
has "$tmp/job.out" "story of job 235, the steps of worker 1:"
"$J" explain "$tmp/bug.db" --worker 1 >"$tmp/w1.out" || bad "explain --worker 1 failed"
has "$tmp/w1.out" "job 235: acked by worker 1"
# bad input: a status and a message, never a crash
"$J" explain "$tmp/bug.db" --job 999 >/dev/null 2>"$tmp/e1"; rc=$?
[ $rc -eq 2 ] && grep -q "no job 999 in this run" "$tmp/e1" || bad "explain --job 999 exited $rc: $(cat "$tmp/e1")"
"$J" explain "$S" >/dev/null 2>"$tmp/e2"; rc=$?
[ $rc -eq 2 ] && grep -q "not a run database" "$tmp/e2" || bad "explain of a scenario file exited $rc"
"$J" explain "$tmp/bug.db" --worker 9 >/dev/null 2>"$tmp/e3"; rc=$?
[ $rc -eq 2 ] && grep -q "no such worker 9 in this run (its workers are 1..1)" "$tmp/e3" || bad "explain --worker 9 exited $rc"
"$J" help explain | grep -q "usage: jetsim explain RUN.db" || bad "jetsim help explain"

# ---- explain: why a job came back ----
"$J" run sim/scenarios/network_faults.scn --db "$tmp/net.db" >/dev/null || bad "network_faults did not pass"
"$J" explain "$tmp/net.db" --job 522 >"$tmp/net.out" || bad "explain --job 522 failed"
has "$tmp/net.out" "the ack of worker 2 never reached the server: cut connections for 2.000 s (line 11)"
has "$tmp/net.out" "delivered to worker 2 (attempt 2, after AckWait expired: the ack of worker 2 never arrived)"
has "$tmp/net.out" "in the master at the end: done, 2 attempt(s), completed once"

# ---- explain: a late ack is not a lost one (issue 14, C1) ----
# workqueue_crashes seed 1: job 126's ack by worker 4 came after AckWait
# (batch=50, backoff=1s); no fault that drops acks was on.
"$J" run sim/scenarios/workqueue_crashes.scn --seed 1 --db "$tmp/wq.db" >/dev/null || bad "workqueue_crashes seed 1 failed"
"$J" explain "$tmp/wq.db" --job 126 >"$tmp/wq126.out" || bad "explain --job 126 failed"
has "$tmp/wq126.out" "delivered to worker 2 (attempt 2, the ack of worker 4 came after AckWait expired)"
grep -q "was lost" "$tmp/wq126.out" && bad "explain --job 126 says an ack was lost with no fault dropping acks"

# ---- the views say it in SQL ----
python3 - "$tmp/bug.db" <<'PY' || bad "the run database's views"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda sql: db.execute(sql).fetchall()
assert q("SELECT first_bad_job FROM run") == [(235,)]
assert q("SELECT state, attempts FROM jobs_named WHERE job = 235") == [("running", 1)]
assert q("SELECT round(t_s, 3), stream_seq FROM story WHERE kind = 'publish' AND job = 235") == [(1.17, 235)]
assert q("SELECT name, at_s, worker, line FROM faults_named") == [("crash worker", 3.0, 1, 7)]
assert q("SELECT count(*) FROM story WHERE kind = 'fault' AND fault = 'crash worker'") == [(2,)]
PY

# ---- swarm: grouped, one screen; --list keeps the per-seed lines ----
B=sim/scenarios/buggy_ack_before_commit.scn
"$J" swarm "$B" --seeds 300 --jobs 2 >"$tmp/swarm.out"; rc=$?
[ $rc -eq 1 ] || bad "swarm exited $rc, not 1"
lines=$(wc -l <"$tmp/swarm.out")
[ "$lines" -lt 40 ] || bad "swarm's grouped output is $lines lines, not one screen"
grep -qE '^  no_loss \(safety\): [0-9]+ seeds, e\.g\. [0-9]+, [0-9]+, [0-9]+$' "$tmp/swarm.out" ||
  bad "swarm has no no_loss group: $(sed -n 3p "$tmp/swarm.out")"
has "$tmp/swarm.out" "had its PubAck but was never completed (jobs row N: state running, attempts N)"
grep -qE '^      replay: jetsim run sim/scenarios/buggy_ack_before_commit.scn --seed [0-9]+ --mix$' "$tmp/swarm.out" ||
  bad "swarm's group has no replay command"
grep -qE '^  seed [0-9]+:' "$tmp/swarm.out" && bad "swarm listed seeds one by one without --list"
failed=$(sed -nE 's/^swarm: 300 seeds in .* s, ([0-9]+) failed.*/\1/p' "$tmp/swarm.out")
"$J" swarm "$B" --seeds 300 --jobs 2 --list --json "$tmp/swarm.json" --junit "$tmp/swarm.xml" >"$tmp/list.out"
[ "$(grep -cE '^  seed [0-9]+: safety: no_loss: ' "$tmp/list.out")" = "$failed" ] || bad "--list does not list the $failed seeds"
python3 - "$tmp/swarm.json" "$tmp/swarm.xml" "$failed" <<'PY' || bad "swarm's --json/--junit"
import json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))
failed = int(sys.argv[3])
assert d["command"] == "swarm" and d["seeds"] == 300 and d["failed"] == failed and d["exit_code"] == 1, d
assert [g["check"] for g in d["groups"]] == ["no_loss"] and d["groups"][0]["seeds"] == failed
assert len(d["failing_seeds"]) == failed and d["failing_seeds"][0]["replay"].endswith("--mix")
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
assert suite.get("tests") == "300" and suite.get("failures") == str(failed), suite.attrib
cases = suite.findall("testcase")
assert len(cases) == 300
bad = [c for c in cases if c.find("failure") is not None]
assert len(bad) == failed and "replay: jetsim run" in bad[0].find("failure").text
PY
"$J" swarm "$B" --seeds 5 --json - 2>/dev/null | python3 -c 'import json, sys; json.load(sys.stdin)' ||
  bad "swarm --json - is not one JSON document on stdout"

# ---- run: --json on stdout, --junit to a file ----
"$J" run "$S" --seed 1 --json - --junit "$tmp/run.xml" >"$tmp/run.json" 2>"$tmp/run.err"; rc=$?
[ $rc -eq 1 ] || bad "run --json exited $rc"
grep -q "^FAIL (safety)" "$tmp/run.err" || bad "run --json -: the table did not go to stderr"
python3 - "$tmp/run.json" "$tmp/run.xml" <<'PY' || bad "run's --json/--junit"
import json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))
assert d["verdict"] == "safety" and d["first_bad_job"] == 235 and d["lost"] == 1 and d["exit_code"] == 1, d
assert d["first_violation"].startswith("no_loss: job 235") and d["replay"].endswith("--seed 1"), d
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
assert suite.get("tests") == "1" and suite.get("failures") == "1"
f = suite.find("testcase/failure")
assert f.get("type") == "safety" and f.get("message").startswith("no_loss: job 235")
PY
"$J" run "$S" --json "$tmp/no/such/dir.json" >/dev/null 2>"$tmp/e4"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot write" "$tmp/e4" || bad "an unwritable --json file: exit $rc"
"$J" run "$S" --json - --junit - >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "--json - --junit - exited $rc, not 2"

# ---- diff: a testcase per rule (needs nats-server) ----
if command -v nats-server >/dev/null 2>&1; then
  "$J" diff sim/scenarios/steady_workqueue.scn --json "$tmp/diff.json" --junit "$tmp/diff.xml" >"$tmp/diff.out" 2>&1; rc=$?
  [ $rc -eq 0 ] || bad "diff exited $rc: $(tail -n 3 "$tmp/diff.out")"
  python3 - "$tmp/diff.json" "$tmp/diff.xml" <<'PY' || bad "diff's --json/--junit"
import json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))
assert d["command"] == "diff" and d["diverged"] is False and len(d["rules"]) == 4, d
assert [r["outcome"] for r in d["rules"]] == ["same", "same", "same", "not compared"], d
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
assert suite.get("tests") == "4" and suite.get("failures") == "0" and suite.get("skipped") == "1"
assert [c.get("name") for c in suite.findall("testcase")][0] == "acknowledged set"
PY
else
  echo "diff --json/--junit: SKIPPED (no nats-server)"
fi

# the closing line .ci/run's summary looks for
echo "[==========] explain_ci.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] explain_ci.sh" || echo "[  FAILED  ] explain_ci.sh: $fails failure(s)"
[ $fails -eq 0 ]
