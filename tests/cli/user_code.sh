#!/usr/bin/env bash
# user_code.sh JETSIM — the user's own code under jetsim, as a user runs it
# (issue 13): jetsim installed into a temporary prefix; the charge_card
# example built from it with pkg-config only, its unit tests passing; the
# buggy handler failing a 200-seed swarm with the double charge named and
# the replay command carrying --handlers; shrink keeping that failure; the
# correct handler passing 200 seeds and --check-determinism; a handler
# that reads the wall clock passing it (the jetsim program hands it the
# run's clock), one with global state that outlives a run failing it, with
# the first event where the two runs part; a swarm whose handler kills its
# worker process counting each seed a harness error; a bad --handlers
# library refused.
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
B="$(cd "$(dirname "$J")" && pwd)"
cp -r examples/charge_card "$tmp/ex"
rm -f "$tmp/ex/libchargecard.so" "$tmp/ex/test_charge_card"
LIB="$tmp/ex/libchargecard.so"
INC="$tmp/prefix/include/jetsim"
if nm "$J" 2>/dev/null | grep -q __asan_init; then
  # a sanitizer build: its library cannot be linked by a plain program;
  # the handler library is built from the headers, the CLI is this one
  echo "user_code: sanitizer build: the install and pkg-config part is left to the plain build"
  INC="$tmp/inc"; mkdir -p "$INC"; cp core/ps_*.h sim/ps_sim.h "$INC/"
  cc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -I"$INC" -o "$LIB" "$tmp/ex/charge_card.c" -lsqlite3 ||
    bad "building the handler library"
  JI="$J"
else
  # install, and the example from the installed files only
  make --no-print-directory install PREFIX="$tmp/prefix" BUILD="$B" >"$tmp/install.out" 2>&1 ||
    { cat "$tmp/install.out"; bad "make install PREFIX=$tmp/prefix"; }
  export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
  make --no-print-directory -C "$tmp/ex" >"$tmp/build.out" 2>&1 || { cat "$tmp/build.out"; bad "make -C examples/charge_card"; }
  make --no-print-directory -C "$tmp/ex" test >"$tmp/test.out" 2>&1 || { cat "$tmp/test.out"; bad "make -C examples/charge_card test"; }
  JI="$tmp/prefix/bin/jetsim"
fi

"$JI" swarm "$tmp/ex/buggy.scn" --handlers "$LIB" --seeds 200 >"$tmp/buggy.out"; rc=$?
[ $rc -eq 1 ] || bad "swarm buggy.scn: exit $rc, not 1"
grep -q "200 failed: 200 safety" "$tmp/buggy.out" || bad "swarm buggy.scn: not every seed failed: $(tail -n 1 "$tmp/buggy.out")"
grep -q 'expected no rows from "SELECT job, count(\*) FROM jetsim.service_calls' "$tmp/buggy.out" ||
  bad "swarm buggy.scn does not name the double charge"
grep -q -- "--mix --handlers $LIB" "$tmp/buggy.out" || bad "swarm's replay command lacks --handlers"

"$JI" shrink "$tmp/ex/buggy.scn" --seed 7 --mix --handlers "$LIB" --out "$tmp/shrunk.scn" >"$tmp/shrink.out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$tmp/shrink.out"; bad "shrink: exit $rc"; }
"$JI" run "$tmp/shrunk.scn" --seed 7 --handlers "$LIB" >"$tmp/shrunk.out"; rc=$?
[ $rc -eq 1 ] && grep -q 'FAIL (safety): sql' "$tmp/shrunk.out" || bad "the shrunk scenario does not fail the sql check (exit $rc)"

"$JI" swarm "$tmp/ex/charge_card.scn" --handlers "$LIB" --seeds 200 >"$tmp/good.out"; rc=$?
[ $rc -eq 0 ] || bad "swarm charge_card.scn: exit $rc: $(grep -m1 '^  seed' "$tmp/good.out")"
"$JI" run "$tmp/ex/charge_card.scn" --seed 3 --mix --check-determinism --handlers "$LIB" >"$tmp/det.out"; rc=$?
[ $rc -eq 0 ] || bad "--check-determinism on charge_card: exit $rc"

# a handler that reads the wall clock: the jetsim program gives it the
# run's clock, so two runs agree; one whose global state outlives a run
# does not, and --check-determinism shows the first event where they part
cc -std=c11 -Wall -Wextra -Werror -fPIC -shared -I"$INC" -o "$tmp/wallclock.so" \
  tests/handlers/wallclock.c || bad "building tests/handlers/wallclock.c"
"$JI" run tests/handlers/wallclock.scn --check-determinism --handlers "$tmp/wallclock.so" >"$tmp/wall.out"; rc=$?
[ $rc -eq 0 ] || { cat "$tmp/wall.out"; bad "--check-determinism on the wall-clock handler: exit $rc, not 0"; }
"$JI" run tests/handlers/leaky.scn --check-determinism --handlers "$tmp/wallclock.so" >"$tmp/leaky.out"; rc=$?
[ $rc -eq 1 ] || bad "--check-determinism on the leaky handler: exit $rc, not 1"
grep -q 'the runs part at trace event' "$tmp/leaky.out" && grep -q '  first run : at ' "$tmp/leaky.out" &&
  grep -q '  second run: at ' "$tmp/leaky.out" ||
  { cat "$tmp/leaky.out"; bad "--check-determinism does not show the first differing event of both runs"; }

# a handler that kills its process: the seed's process dies mid-seed; the
# seed is a harness error naming the signal, and the next seeds still run
"$JI" swarm tests/handlers/crash.scn --seeds 5 --jobs 2 --list --handlers "$tmp/wallclock.so" >"$tmp/crash.out" 2>&1; rc=$?
[ $rc -eq 4 ] || bad "swarm of a crashing handler: exit $rc, not 4 (harness errors only)"
grep -q "5 seeds in .* 5 failed: 0 safety, 0 liveness, 5 harness errors" "$tmp/crash.out" &&
  [ "$(grep -cE '^  seed [1-5]: harness error: the child died without a verdict \(signal 6\)$' "$tmp/crash.out")" -eq 5 ] ||
  { cat "$tmp/crash.out"; bad "swarm of a crashing handler did not count each seed's death"; }

# a handler's globals do not outlive a seed in a swarm: leaky loses the
# first job a fresh process handles, so every seed fails alone, and the
# swarm (one worker process running seed after seed) must say so of all 3
"$JI" swarm tests/handlers/leaky_once.scn --seeds 3 --jobs 1 --handlers "$tmp/wallclock.so" >"$tmp/once.out" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q 'no_loss (safety): 3 seeds, e.g. 1, 2, 3' "$tmp/once.out" ||
  { cat "$tmp/once.out"; bad "swarm of leaky_once: a handler's global outlived a seed (exit $rc)"; }

# a library that is not one
"$JI" run "$tmp/ex/charge_card.scn" --handlers "$tmp/nothing.so" >/dev/null 2>"$tmp/err.out"; rc=$?
[ $rc -eq 2 ] && grep -q "cannot load it" "$tmp/err.out" || bad "a missing --handlers library: exit $rc, $(cat "$tmp/err.out")"

# the closing lines .ci/run's summary looks for
echo "[==========] user_code.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] user_code.sh" || echo "[  FAILED  ] user_code.sh: $fails failure(s)"
if [ $fails -ne 0 ]; then echo "user_code: $fails failure(s)"; exit 1; fi
echo "user_code: ok (installed, example built and tested with pkg-config; buggy 200/200 seeds fail naming the double charge; shrink keeps it; correct 200/200 pass; determinism checked both ways)"
