#!/usr/bin/env bash
# ci/cluster.sh — a 3-node nats-server cluster with JetStream on 127.0.0.1,
# for tests of replicated streams, leader changes and node crashes.
#
#   ci/cluster.sh start     [NAME]   start (or reuse) cluster NAME; prints its URLs
#   ci/cluster.sh urls      [NAME]   prints the client URLs of the running cluster
#   ci/cluster.sh stop      [NAME]   stops all three nodes, removes stores and state
#   ci/cluster.sh kill    N [NAME]   kill -9 node N (1..3), keeping its ports and store
#   ci/cluster.sh term    N [NAME]   SIGTERM node N (SIGKILL after 10 s), keeping them
#   ci/cluster.sh restart N [NAME]   starts node N again on the same ports and store
#
# NAME defaults to "default". `start` and `urls` print one line on stdout,
# the comma-separated client URLs (nats://127.0.0.1:P1,nats://...:P2,...);
# `restart` prints the URL of the node. Progress messages go to stderr.
# Each node nK gets its own config file (server_name nK, client, monitor and
# cluster ports on 127.0.0.1, jetstream { store_dir }, cluster "jetsim" with
# routes to all three), runs in its own session with its log in the state
# directory, and counts as up when /healthz on its monitor port answers ok
# (in a cluster that also needs a JetStream meta leader). `start` waits for
# all three, up to 30 s.
#
# Environment:
#   JETSIM_CLUSTER_STATE         state root (default ${TMPDIR:-/tmp}/jetsim-cluster-$UID);
#                                cluster NAME keeps its state in ROOT/NAME
#   JETSIM_CLUSTER_START_TIMEOUT seconds to wait for the nodes (default 30)
#   NATS_SERVER_BIN              the nats-server binary to use
#
# Not: Docker (the nats-server binary is required: sudo apt-get install
# nats-server), authorization, TLS, or more than three nodes. It never
# signals a process it did not start (only recorded pids, and only while
# they are nats-servers running this cluster's config). For one server, see
# ci/nats-server.sh.
set -euo pipefail

prog="ci/cluster.sh"
STATE_ROOT="${JETSIM_CLUSTER_STATE:-${TMPDIR:-/tmp}/jetsim-cluster-$UID}"
TIMEOUT="${JETSIM_CLUSTER_START_TIMEOUT:-30}"
NODES=(1 2 3)

usage() {
  cat <<EOF
usage: $prog start|urls|stop [NAME]
       $prog kill|term|restart N [NAME]      (N: node 1, 2 or 3)
       $prog --help

  start    start a 3-node JetStream cluster on free 127.0.0.1 ports and print
           its client URLs, comma-separated, on one line; if cluster NAME is
           running already, just print them
  urls     print the client URLs of the running cluster NAME (exit 1 if none)
  stop     stop all three nodes (SIGTERM, SIGKILL after 10 s), remove their
           stores and the state; stopping nothing is not an error
  kill N   kill -9 node N, keeping its ports and store for 'restart N'
  term N   SIGTERM node N (SIGKILL after 10 s), keeping them too
  restart N  start node N again on the same ports and store; waits for its
           /healthz and prints its URL

NAME defaults to "default". Needs the nats-server binary (no Docker).
Environment: JETSIM_CLUSTER_STATE, JETSIM_CLUSTER_START_TIMEOUT, NATS_SERVER_BIN.
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 1; }

# ---- small tools (the same as in ci/nats-server.sh) -----------------------------

find_bin() {
  local b
  if [ -n "${NATS_SERVER_BIN:-}" ]; then
    [ -x "$NATS_SERVER_BIN" ] || die "NATS_SERVER_BIN=$NATS_SERVER_BIN is not executable"
    echo "$NATS_SERVER_BIN"
    return 0
  fi
  if b="$(command -v nats-server 2>/dev/null)"; then
    echo "$b"
    return 0
  fi
  for b in /usr/sbin/nats-server /usr/local/sbin/nats-server /usr/local/bin/nats-server; do
    if [ -x "$b" ]; then
      echo "$b"
      return 0
    fi
  done
  return 1
}

tcp_open() {
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

PICKED=" "
pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + ((RANDOM << 15) | RANDOM) % 40001))
    [[ $PICKED == *" $p "* ]] && continue
    tcp_open 127.0.0.1 "$p" && continue
    PICKED+="$p "
    PORT_PICKED=$p
    return 0
  done
  die "found no free port in 20000-60000"
}

http_get() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null
  else
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    timeout 3 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
      cat <&3' _ "$1" "$2" 2>/dev/null
  fi
}

healthy() {
  local body
  body="$(http_get "$1" /healthz)" || return 1
  [[ $body == *'"status"'*'"ok"'* ]]
}

# pid_alive PID MARK: a live, non-zombie nats-server whose command line
# contains MARK (the node's config file).
pid_alive() {
  local pid="$1" mark="$2" stat args
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  if [ -d /proc/1 ]; then
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ] || return 1
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  else
    read -r stat args <<<"$(ps -p "$pid" -o stat=,args= 2>/dev/null)" || return 1
    [[ $stat != Z* ]] || return 1
  fi
  [[ $args == *nats-server* && $args == *"$mark"* ]]
}

end_pid() {
  local pid="$1" mark="$2" i
  pid_alive "$pid" "$mark" || return 0
  if [ "$3" = term ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      pid_alive "$pid" "$mark" || return 0
      sleep 0.1
    done
    say "pid $pid still running 10 s after SIGTERM: sending SIGKILL"
  fi
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" "$mark" || return 0
    sleep 0.1
  done
  die "pid $pid did not exit after SIGKILL"
}

# ---- state of cluster NAME: SD/{urls,store,bin} and SD/nK/{port,monport,
# cport,conf,log,pid,server.pid} ------------------------------------------------

NAME=default
SD=""
get() { cat "$SD/$1" 2>/dev/null || true; }
put() { printf '%s\n' "$2" >"$SD/$1"; }

node_alive() {
  local d="$SD/n$1"
  pid_alive "$(get "n$1/pid")" "$d/nats-server.conf" ||
    pid_alive "$(get "n$1/server.pid")" "$d/nats-server.conf"
}

node_pid() {
  local p
  for p in "$(get "n$1/server.pid")" "$(get "n$1/pid")"; do
    if pid_alive "$p" "$SD/n$1/nats-server.conf"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

launch_node() {
  local d="$SD/n$1" bin
  bin="$(get bin)"
  rm -f "$d/server.pid"
  printf '=== %s: %s -c %s\n' "$(date '+%F %T')" "$bin" "$d/nats-server.conf" >>"$d/log"
  if command -v setsid >/dev/null 2>&1; then
    setsid "$bin" -c "$d/nats-server.conf" -P "$d/server.pid" </dev/null >>"$d/log" 2>&1 9>&- &
  else
    nohup "$bin" -c "$d/nats-server.conf" -P "$d/server.pid" </dev/null >>"$d/log" 2>&1 9>&- &
  fi
  put "n$1/pid" "$!"
}

# wait_nodes N...: up to TIMEOUT s until every node N answers /healthz ok;
# fails at once when one of them died.
wait_nodes() {
  local i n=$((TIMEOUT * 10)) k pending
  for ((i = 0; i < n; i++)); do
    pending=0
    for k in "$@"; do
      node_alive "$k" || { say "node n$k exited"; return 1; }
      healthy "$(get "n$k/monport")" || pending=1
    done
    if [ $pending = 0 ]; then
      for k in "$@"; do
        if [ -s "$SD/n$k/server.pid" ]; then put "n$k/pid" "$(get "n$k/server.pid")"; fi
      done
      return 0
    fi
    sleep 0.1
  done
  say "not healthy after $TIMEOUT s"
  return 1
}

show_logs() {
  local k
  for k in "$@"; do
    say "last lines of the log of node n$k:"
    tail -n 20 "$SD/n$k/log" >&2 2>/dev/null || true
  done
}

remove_all() {
  local k store
  for k in "${NODES[@]}"; do
    end_pid "$(get "n$k/pid")" "$SD/n$k/nats-server.conf" term
    end_pid "$(get "n$k/server.pid")" "$SD/n$k/nats-server.conf" term
  done
  store="$(get store)"
  if [ -n "$store" ] && [ -d "$store" ]; then rm -rf -- "$store"; fi
  rm -rf -- "$SD"
}

any_alive() {
  local k
  for k in "${NODES[@]}"; do node_alive "$k" && return 0; done
  return 1
}

# ---- commands -----------------------------------------------------------------

cmd_start() {
  local bin k
  if [ -f "$SD/urls" ]; then
    if any_alive; then
      for k in "${NODES[@]}"; do
        node_alive "$k" || say "node n$k of cluster '$NAME' is down (ci/cluster.sh restart $k $NAME)"
      done
      say "cluster '$NAME' is running already"
      get urls
      return 0
    fi
    say "cluster '$NAME' is not running: removing what it left and starting a new one"
    remove_all
  fi
  bin="$(find_bin)" ||
    die "nats-server not found: install it (sudo apt-get install nats-server) or set NATS_SERVER_BIN; the cluster needs the binary (no Docker)"

  (umask 077 && mkdir -p "$SD")
  put bin "$bin"
  local store urls="" routes=""
  store="$(mktemp -d "${TMPDIR:-/tmp}/jetsim-cluster-store.XXXXXX")"
  put store "$store"
  for k in "${NODES[@]}"; do
    mkdir -p "$SD/n$k" "$store/n$k"
    pick_port; put "n$k/port" "$PORT_PICKED"
    pick_port; put "n$k/monport" "$PORT_PICKED"
    pick_port; put "n$k/cport" "$PORT_PICKED"
    urls+="${urls:+,}nats://127.0.0.1:$(get "n$k/port")"
    routes+="    nats-route://127.0.0.1:$(get "n$k/cport")"$'\n'
  done
  put urls "$urls"
  for k in "${NODES[@]}"; do
    cat >"$SD/n$k/nats-server.conf" <<EOF
# written by $prog for node n$k of cluster '$NAME'
server_name: n$k
listen: 127.0.0.1:$(get "n$k/port")
http: 127.0.0.1:$(get "n$k/monport")
jetstream {
  store_dir: "$store/n$k"
}
cluster {
  name: jetsim
  listen: 127.0.0.1:$(get "n$k/cport")
  routes: [
$routes  ]
}
EOF
  done
  say "starting cluster '$NAME': $urls"
  for k in "${NODES[@]}"; do launch_node "$k"; done
  if ! wait_nodes "${NODES[@]}"; then
    show_logs "${NODES[@]}"
    remove_all
    exit 1
  fi
  say "cluster '$NAME' is up; logs: $SD/n{1,2,3}/log"
  get urls
}

cmd_urls() {
  if [ ! -f "$SD/urls" ] || ! any_alive; then die "no cluster '$NAME' is running"; fi
  local k
  for k in "${NODES[@]}"; do
    node_alive "$k" || say "node n$k is down"
  done
  get urls
}

cmd_stop() {
  if [ ! -d "$SD" ]; then
    say "cluster '$NAME' is not running"
    return 0
  fi
  say "stopping cluster '$NAME'"
  remove_all
}

# cmd_down N kill|term
cmd_down() {
  [ -f "$SD/urls" ] || die "no cluster '$NAME' (start it first)"
  local pid
  if pid="$(node_pid "$1")"; then
    say "$2: node n$1 of cluster '$NAME' (pid $pid)"
    end_pid "$pid" "$SD/n$1/nats-server.conf" "$2"
  else
    say "node n$1 of cluster '$NAME' is not running"
  fi
}

cmd_restart() {
  [ -f "$SD/urls" ] || die "no cluster '$NAME' to restart a node of (use start)"
  if node_alive "$1"; then cmd_down "$1" term; fi
  local p
  for p in "$(get "n$1/port")" "$(get "n$1/monport")" "$(get "n$1/cport")"; do
    if tcp_open 127.0.0.1 "$p"; then
      die "port $p of node n$1 is taken by another process: cannot restart on it"
    fi
  done
  say "restarting node n$1 of cluster '$NAME' on nats://127.0.0.1:$(get "n$1/port")"
  launch_node "$1"
  if ! wait_nodes "$1"; then
    show_logs "$1"
    end_pid "$(get "n$1/pid")" "$SD/n$1/nats-server.conf" kill
    end_pid "$(get "n$1/server.pid")" "$SD/n$1/nats-server.conf" kill
    exit 1
  fi
  echo "nats://127.0.0.1:$(get "n$1/port")"
}

main() {
  local cmd="${1:-}" node=""
  case "$cmd" in
    -h | --help | help) usage; return 0 ;;
    start | urls | stop)
      [ $# -le 2 ] || { usage >&2; return 2; }
      NAME="${2:-default}"
      ;;
    kill | term | restart)
      if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage >&2; return 2; fi
      node="$2"
      [[ $node =~ ^[123]$ ]] || die "node must be 1, 2 or 3, not '$node'"
      NAME="${3:-default}"
      ;;
    "") usage >&2; return 2 ;;
    *) say "unknown command '$cmd'"; usage >&2; return 2 ;;
  esac
  [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad NAME '$NAME' (letters, digits, '.', '_', '-')"
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "JETSIM_CLUSTER_START_TIMEOUT must be a number of seconds"
  SD="$STATE_ROOT/$NAME"
  (umask 077 && mkdir -p "$STATE_ROOT")

  # One command at a time per cluster.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_ROOT/.$NAME.lock"
    flock -w 120 9 || die "cluster '$NAME' is locked by another $prog for 120 s"
  fi

  case "$cmd" in
    start) cmd_start ;;
    urls) cmd_urls ;;
    stop) cmd_stop ;;
    kill | term) cmd_down "$node" "$cmd" ;;
    restart) cmd_restart "$node" ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
