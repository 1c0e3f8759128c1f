#!/bin/sh
# ratios.sh FILE — the figures `make bench` derives from two benchmarks of
# the same run, read from their output in FILE (one "name: value" a line):
#   memory.publish.vs_raw_async: <R>  memory.publish (bench_memory) divided
#       by jetstream.async_publish.raw_msgs_per_s (bench_jetstream: raw
#       cnats async publishes to a local nats-server); "skipped" when the
#       JetStream bench was.
# Prints nothing else; exits 1 when FILE cannot be read.
f=${1:?usage: ratios.sh FILE}
[ -r "$f" ] || exit 1
awk '
  $1 == "memory.publish:" { mem = $2 }
  $1 == "jetstream.async_publish.raw_msgs_per_s:" { raw = $2 }
  END {
    if (mem > 0 && raw > 0)
      printf "memory.publish.vs_raw_async: %.1f\n", mem / raw
    else
      print "memory.publish.vs_raw_async: skipped (no raw cnats figure in this run)"
  }' "$f"
