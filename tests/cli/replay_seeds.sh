#!/usr/bin/env bash
# replay_seeds.sh JETSIM — a failing seed reproduces exactly (issue 10,
# item 4). For 20 seeds that `jetsim swarm` reports failing (each with its
# own fault mix): `jetsim run --mix --db` fails as swarm said, `jetsim
# replay` of its database gives the same trace hash and first violation
# and says "reproduced", and `jetsim shrink --mix` writes a scenario that
# fails the same check without --mix. Then: a replay that differs, or of a
# run that did not finish, exits 5 (never as a reproduction); a changed
# workload file is refused; --check-determinism honours --mix; the replay
# hint of a real-server run carries its backend flags, without a password.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
S=sim/scenarios/buggy_ack_before_commit.scn
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$J" swarm "$S" --seeds 60 --jobs 2 --list >"$tmp/swarm.out"
seeds="$(grep -oE '^  seed [0-9]+:' "$tmp/swarm.out" | tr -dc '0-9\n' | sort -n | head -20)"
[ "$(echo "$seeds" | wc -w)" -eq 20 ] || bad "swarm found fewer than 20 failing seeds"
for seed in $seeds; do
  want="$(grep -E "^  seed $seed: " "$tmp/swarm.out" | sed -E 's/^  seed [0-9]+: [a-z ]+: //')"
  "$J" run "$S" --seed "$seed" --mix --db "$tmp/$seed.db" >"$tmp/run.out"; rc=$?
  got="$(sed -n 's/^FAIL ([a-z]*): //p' "$tmp/run.out")"
  [ $rc -eq 1 ] && [ "$got" = "$want" ] || { bad "seed $seed: run --mix (exit $rc) says '$got', swarm said '$want'"; continue; }
  hash="$(awk '/^trace hash/ {print $3}' "$tmp/run.out")"
  "$J" replay "$tmp/$seed.db" >"$tmp/replay.out"; rc=$?
  rhash="$(awk '/^trace hash/ {print $3}' "$tmp/replay.out")"
  rgot="$(sed -n 's/^FAIL ([a-z]*): //p' "$tmp/replay.out")"
  [ $rc -eq 1 ] && [ "$rhash" = "$hash" ] && [ "$rgot" = "$want" ] && grep -q '^reproduced: ' "$tmp/replay.out" ||
    bad "seed $seed: replay (exit $rc) hash $rhash vs $hash, '$rgot'"
  "$J" shrink "$S" --seed "$seed" --mix --out "$tmp/$seed.scn" >"$tmp/shrink.out"; rc=$?
  [ $rc -eq 0 ] || { bad "seed $seed: shrink --mix exit $rc: $(cat "$tmp/shrink.out")"; continue; }
  "$J" run "$tmp/$seed.scn" --seed "$seed" >"$tmp/shrunk.out"; rc=$?
  check="${want%%:*}"
  grep -q "^FAIL (safety): $check:" "$tmp/shrunk.out" && [ $rc -eq 1 ] ||
    bad "seed $seed: the shrunk scenario does not fail $check: $(tail -n 1 "$tmp/shrunk.out")"
done
echo "replayed and shrank $(echo "$seeds" | wc -w) failing seeds"

# a replay that differs fails loudly, with its own exit code
db="$tmp/$(echo "$seeds" | head -1).db"
cp "$db" "$tmp/tampered.db"
sqlite3 "$tmp/tampered.db" "UPDATE run SET trace_hash='0000000000000000'"
"$J" replay "$tmp/tampered.db" >"$tmp/t.out"; rc=$?
[ $rc -eq 5 ] && grep -q '^NOT REPRODUCED: the replay differs' "$tmp/t.out" || bad "a differing replay exited $rc"
cp "$db" "$tmp/unfinished.db"
sqlite3 "$tmp/unfinished.db" "UPDATE run SET finished=0, verdict=NULL, trace_hash=NULL"
"$J" replay "$tmp/unfinished.db" >"$tmp/u.out"; rc=$?
[ $rc -eq 5 ] && grep -q 'did not finish' "$tmp/u.out" || bad "a replay of an unfinished run exited $rc"
# nothing is run for it: no summary, no verdict to mislead
grep -qE '^(PASS|FAIL)|^trace hash' "$tmp/u.out" && bad "a replay of an unfinished run ran the scenario anyway"

cp "$db" "$tmp/server.db"
sqlite3 "$tmp/server.db" "UPDATE run SET backend='jetstream nats-server spawned by jetsim, time scale 10',
  replay='jetsim run x.scn --seed 1 --spawn --time-scale 10'"
"$J" replay "$tmp/server.db" >"$tmp/s.out"; rc=$?
[ $rc -eq 5 ] && grep -q 'rerun it there: jetsim run x.scn --seed 1 --spawn --time-scale 10' "$tmp/s.out" ||
  bad "a replay of a real-server run exited $rc: $(tail -n 1 "$tmp/s.out")"
grep -qE '^(PASS|FAIL)|^trace hash' "$tmp/s.out" && bad "a replay of a real-server run ran the scenario on the model anyway"

# the workload file is part of the record: a changed one is refused
cp sim/scenarios/replay_orders.scn sim/scenarios/orders.wl "$tmp/"
"$J" run "$tmp/replay_orders.scn" --db "$tmp/wl.db" >/dev/null; rc0=$?
(cd / && "$J" replay "$tmp/wl.db" >"$tmp/wl1.out"); rc1=$?
grep -q '^reproduced: ' "$tmp/wl1.out" && [ $rc1 -eq $rc0 ] || bad "a replay run elsewhere did not find the workload (exit $rc1)"
echo "# changed" >>"$tmp/orders.wl"
"$J" replay "$tmp/wl.db" >/dev/null 2>"$tmp/wl2.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'changed since the run' "$tmp/wl2.err" || bad "a changed workload was not refused (exit $rc)"

# --check-determinism checks the mixed run
"$J" run "$S" --seed 6 --mix --check-determinism >"$tmp/d.out"; rc=$?
grep -q 'and its fault mix' "$tmp/d.out" && [ $rc -eq 0 ] || bad "--check-determinism --mix: $(cat "$tmp/d.out")"

# a real-server run's replay hint: its backend flags, no password
"$J" run "$S" --seed 3 --mix --url nats://alice:s3cret@127.0.0.1:1 >"$tmp/h.out" 2>&1
grep -q -- '--seed 3 --mix --url nats://alice:\*\*\*@127.0.0.1:1 --time-scale 10)' "$tmp/h.out" ||
  bad "replay hint: $(head -n 1 "$tmp/h.out")"
grep -q s3cret "$tmp/h.out" && bad "the password was printed"

# the closing line .ci/run's summary looks for
echo "[==========] replay_seeds.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] replay_seeds.sh" || echo "[  FAILED  ] replay_seeds.sh: $fails failure(s)"
[ $fails -eq 0 ]
