#!/usr/bin/env bash
# ci/nats-server.sh — start, stop, crash and restart one nats-server with
# JetStream on free loopback ports, for tests that need a real server.
#
#   ci/nats-server.sh start   [NAME]   start (or reuse) server NAME; prints its URL
#   ci/nats-server.sh url     [NAME]   prints the URL of the running server NAME
#   ci/nats-server.sh stop    [NAME]   SIGTERM (SIGKILL after 10 s), removes store and state
#   ci/nats-server.sh kill    [NAME]   kill -9; keeps ports, store and config for `restart`
#   ci/nats-server.sh term    [NAME]   SIGTERM (SIGKILL after 10 s); keeps them too
#   ci/nats-server.sh restart [NAME]   starts NAME again on the same port, store and config
#
# NAME defaults to "default". `start` and `restart` print exactly one line on
# stdout, the client URL nats://127.0.0.1:PORT; every progress message goes
# to stderr. A server comes from, in this order:
#   1. NATS_URL, when set and no authorization is asked for: nothing is
#      started, the URL is recorded (mode "external") after a TCP check of
#      its host and port;
#   2. the nats-server binary (PATH, then /usr/sbin, /usr/local/{s,}bin;
#      NATS_SERVER_BIN overrides): `nats-server -js -a 127.0.0.1 -p PORT
#      -m MONPORT -sd STOREDIR` in its own session, logging to a file;
#   3. Docker, when `docker info` answers: a container of $JETSIM_NATS_IMAGE
#      (nats:2.9) with -js, ports bound to 127.0.0.1.
# A start is complete when http://127.0.0.1:MONPORT/healthz answers ok
# (curl, or a raw HTTP/1.0 request over bash's /dev/tcp without curl).
#
# Environment:
#   JETSIM_NATS_STATE          state root (default ${TMPDIR:-/tmp}/jetsim-nats-$UID);
#                              server NAME keeps its state in ROOT/NAME
#   JETSIM_NATS_START_TIMEOUT  seconds to wait for /healthz (default 10)
#   JETSIM_NATS_IMAGE          Docker image (default nats:2.9)
#   NATS_SERVER_BIN            the nats-server binary to use
#   NATS_SERVER_USER + NATS_SERVER_PASSWORD, or NATS_SERVER_TOKEN:
#                              start with authorization; a config file is
#                              written and passed with -c (binary mode only)
#   NATS_URL                   use this server instead of starting one (not when
#                              authorization is asked for: then one is started);
#                              NATS_URL= (empty) starts one regardless
#
# State directory ROOT/NAME: mode (binary|docker|external), url, port,
# monport, store, log, args (the server's argv, one per line), config (the
# auth config file, if any), pid (binary) or container (docker).
#
# Not: a cluster (ci/cluster.sh), TLS, leaf nodes or accounts; it never
# touches a server it did not start (it signals only the pid it recorded,
# and only while that pid is a nats-server). With NATS_URL set, kill, term
# and restart refuse: an external server is not ours to crash.
set -euo pipefail

prog="ci/nats-server.sh"
IMAGE="${JETSIM_NATS_IMAGE:-nats:2.9}"
STATE_ROOT="${JETSIM_NATS_STATE:-${TMPDIR:-/tmp}/jetsim-nats-$UID}"
TIMEOUT="${JETSIM_NATS_START_TIMEOUT:-10}"

usage() {
  cat <<EOF
usage: $prog start|url|stop|kill|term|restart [NAME]
       $prog --help

  start    start nats-server NAME with JetStream on free 127.0.0.1 ports and
           print its URL (one line on stdout); if NAME is running already,
           just print its URL. With NATS_URL set, only record and print it.
  url      print the URL of the running server NAME (exit 1 if none)
  stop     SIGTERM it (SIGKILL after 10 s), remove its store and state;
           stopping a server that is not running is not an error
  kill     kill -9 it, keeping ports, store and config for 'restart'
  term     SIGTERM it (SIGKILL after 10 s), keeping them too
  restart  start NAME again on the same port, store and config; waits
           for /healthz and prints the URL

NAME defaults to "default" (letters, digits, '.', '_', '-').
Environment: JETSIM_NATS_STATE, JETSIM_NATS_START_TIMEOUT, JETSIM_NATS_IMAGE,
NATS_SERVER_BIN, NATS_SERVER_USER + NATS_SERVER_PASSWORD or NATS_SERVER_TOKEN,
NATS_URL. See the header of this script or ci/README.md.
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 1; }

# ---- small tools ------------------------------------------------------------

# find_bin: the nats-server binary (Debian installs it in /usr/sbin, which a
# non-root PATH often lacks).
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

# tcp_open HOST PORT: true if something accepts a TCP connection there.
tcp_open() {
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# pick_port: a port in 20000-60000 that nothing listens on and that this run
# has not handed out yet; sets PORT_PICKED.
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

# http_get PORT PATH: the body (curl) or the whole response (raw) of
# http://127.0.0.1:PORT/PATH; fails when nothing answers.
http_get_curl() {
  curl -fsS --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null
}
http_get_tcp() {
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
    cat <&3' _ "$1" "$2" 2>/dev/null
}
http_get() {
  if command -v curl >/dev/null 2>&1; then http_get_curl "$@"; else http_get_tcp "$@"; fi
}

# healthy MONPORT: /healthz answers {"status":"ok"}.
healthy() {
  local body
  body="$(http_get "$1" /healthz)" || return 1
  [[ $body == *'"status"'*'"ok"'* ]]
}

# pid_alive PID [MARK]: PID is a live (not zombie) nats-server process whose
# command line contains MARK (our store dir or config file: a recorded pid
# that was reused by someone else's server is not ours to signal).
pid_alive() {
  local pid="$1" mark="${2:-nats-server}" stat args
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

# end_pid PID MARK term|kill: SIGTERM and wait up to 10 s, then SIGKILL (or
# SIGKILL at once); returns once the process is gone.
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

have_docker() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# conf_str VALUE: VALUE as a double-quoted nats-server config string.
conf_str() {
  local v="${1//\\/\\\\}"
  printf '"%s"' "${v//\"/\\\"}"
}

# ---- state of server NAME -----------------------------------------------------

NAME=default
SD=""
get() { cat "$SD/$1" 2>/dev/null || true; }
put() { printf '%s\n' "$2" >"$SD/$1"; }

# mark: what the command line of server NAME contains (its config file, or
# its store dir).
mark() { if [ -n "$(get config)" ]; then get config; else get store; fi; }
server_pid() { cat "$SD/server.pid" 2>/dev/null || true; }

container_running() {
  [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null || true)" = true ]
}

# running: server NAME (per its state) is up.
running() {
  [ -f "$SD/mode" ] || return 1
  case "$(get mode)" in
    binary) pid_alive "$(get pid)" "$(mark)" ;;
    docker) container_running "$(get container)" ;;
    external) return 0 ;;
    *) return 1 ;;
  esac
}

show_log() {
  say "the server did not become healthy; last lines of its log:"
  case "$(get mode)" in
    docker) docker logs --tail 30 "$(get container)" >&2 2>&1 || true ;;
    *) tail -n 30 "$SD/log" >&2 2>/dev/null || true ;;
  esac
}

# launch: run the recorded server (binary or container) in the background.
launch() {
  case "$(get mode)" in
    binary)
      local bin args=()
      bin="$(get bin)"
      mapfile -t args <"$SD/args"
      rm -f "$SD/server.pid"
      printf '=== %s: %s %s\n' "$(date '+%F %T')" "$bin" "${args[*]}" >>"$SD/log"
      # Its own session, no terminal, no inherited descriptors (the lock
      # on fd 9 included): the server outlives this script.
      if command -v setsid >/dev/null 2>&1; then
        setsid "$bin" "${args[@]}" -P "$SD/server.pid" </dev/null >>"$SD/log" 2>&1 9>&- &
      else
        nohup "$bin" "${args[@]}" -P "$SD/server.pid" </dev/null >>"$SD/log" 2>&1 9>&- &
      fi
      put pid "$!"
      ;;
    docker)
      local c
      c="$(get container)"
      if docker inspect "$c" >/dev/null 2>&1; then
        docker start "$c" >/dev/null
      else
        # No --rm: `kill` followed by `restart` must find the same container
        # (its port bindings and its /data store) again.
        docker run -d --name "$c" \
          -p "127.0.0.1:$(get port):4222" -p "127.0.0.1:$(get monport):8222" \
          "$IMAGE" -js -m 8222 -sd /data >/dev/null
      fi
      ;;
  esac
}

# wait_healthy: up to TIMEOUT s for /healthz; in binary mode also records
# the server's own pid (from -P) once it is up. Fails early if it died.
wait_healthy() {
  local i n=$((TIMEOUT * 10)) mon
  mon="$(get monport)"
  for ((i = 0; i < n; i++)); do
    if healthy "$mon"; then
      if [ "$(get mode)" = binary ] && [ -s "$SD/server.pid" ]; then
        put pid "$(cat "$SD/server.pid")"
      fi
      return 0
    fi
    case "$(get mode)" in
      binary)
        # The launcher's pid is the server's (setsid does not fork here);
        # -P's file covers the case where it did.
        if ! pid_alive "$(get pid)" "$(mark)" && ! pid_alive "$(server_pid)" "$(mark)"; then
          return 1
        fi
        ;;
      docker) container_running "$(get container)" || return 1 ;;
    esac
    sleep 0.1
  done
  return 1
}

# remove_all: what `stop` leaves behind: nothing.
remove_all() {
  local store
  store="$(get store)"
  case "$(get mode)" in
    binary)
      end_pid "$(get pid)" "$(mark)" term
      end_pid "$(server_pid)" "$(mark)" term
      ;;
    docker)
      local c
      c="$(get container)"
      if docker inspect "$c" >/dev/null 2>&1; then
        docker stop -t 10 "$c" >/dev/null 2>&1 || true
        docker rm -f "$c" >/dev/null 2>&1 || true
      fi
      ;;
  esac
  if [ -n "$store" ] && [ -d "$store" ]; then rm -rf -- "$store"; fi
  rm -rf -- "$SD"
}

# ---- commands -----------------------------------------------------------------

cmd_start() {
  local auth="" bin=""
  if [ -n "${NATS_SERVER_TOKEN:-}" ]; then
    [ -z "${NATS_SERVER_USER:-}${NATS_SERVER_PASSWORD:-}" ] ||
      die "set either NATS_SERVER_TOKEN or NATS_SERVER_USER + NATS_SERVER_PASSWORD, not both"
    auth=token
  elif [ -n "${NATS_SERVER_USER:-}${NATS_SERVER_PASSWORD:-}" ]; then
    if [ -z "${NATS_SERVER_USER:-}" ] || [ -z "${NATS_SERVER_PASSWORD:-}" ]; then
      die "NATS_SERVER_USER and NATS_SERVER_PASSWORD go together"
    fi
    auth=user
  fi
  if [ -n "${NATS_SERVER_BIN:-}" ] && [ ! -x "$NATS_SERVER_BIN" ]; then
    die "NATS_SERVER_BIN=$NATS_SERVER_BIN is not executable"
  fi

  if [ -f "$SD/mode" ]; then
    if running; then
      if [ -n "${NATS_URL:-}" ] && [ "$(get mode)" != external ] && [ "$NATS_URL" != "$(get url)" ]; then
        say "NATS_URL is set, but server '$NAME' is running already: keeping it"
      fi
      say "server '$NAME' is running already ($(get mode))"
      get url
      return 0
    fi
    say "server '$NAME' is not running: removing what it left and starting a new one"
    remove_all
  fi
  (umask 077 && mkdir -p "$SD")

  if [ -n "${NATS_URL:-}" ] && [ -n "$auth" ]; then
    say "NATS_URL is ignored: authorization was asked for, so a server of our own is started"
  elif [ -n "${NATS_URL:-}" ]; then
    # The first URL of a list; host and port, without scheme or credentials.
    local hp host port
    hp="${NATS_URL%%,*}"
    hp="${hp#*://}"
    hp="${hp##*@}"
    hp="${hp%%/*}"
    host="${hp%:*}"
    port="${hp##*:}"
    [ "$host" != "$hp" ] || port=4222
    if ! tcp_open "$host" "$port"; then
      rm -rf -- "$SD"
      die "NATS_URL=$NATS_URL: nothing accepts connections on $host:$port"
    fi
    put mode external
    put url "$NATS_URL"
    say "using the external server NATS_URL=$NATS_URL"
    echo "$NATS_URL"
    return 0
  fi

  if bin="$(find_bin)"; then
    put mode binary
    put bin "$bin"
  elif have_docker; then
    if [ -n "$auth" ]; then
      rm -rf -- "$SD"
      die "authorization (NATS_SERVER_USER/PASSWORD/TOKEN) needs the nats-server binary; Docker mode does not support it"
    fi
    put mode docker
    put container "jetsim-nats-$UID-$NAME"
  else
    rm -rf -- "$SD"
    die "no NATS server available: install one (sudo apt-get install nats-server), start Docker, or set NATS_URL=nats://HOST:PORT to use a running server"
  fi

  local attempt port mon store
  for attempt in 1 2 3; do
    pick_port; port=$PORT_PICKED
    pick_port; mon=$PORT_PICKED
    put port "$port"
    put monport "$mon"
    put url "nats://127.0.0.1:$port"
    : >"$SD/log"
    if [ "$(get mode)" = binary ]; then
      store="$(mktemp -d "${TMPDIR:-/tmp}/jetsim-nats-store.XXXXXX")"
      put store "$store"
      if [ -n "$auth" ]; then
        local conf="$SD/nats-server.conf"
        {
          echo "# written by $prog for server '$NAME'"
          echo "listen: \"127.0.0.1:$port\""
          echo "http: \"127.0.0.1:$mon\""
          echo "jetstream {"
          echo "  store_dir: $(conf_str "$store")"
          echo "}"
          echo "authorization {"
          if [ "$auth" = token ]; then
            echo "  token: $(conf_str "$NATS_SERVER_TOKEN")"
          else
            echo "  user: $(conf_str "$NATS_SERVER_USER")"
            echo "  password: $(conf_str "$NATS_SERVER_PASSWORD")"
          fi
          echo "}"
        } >"$conf"
        chmod 600 "$conf"
        put config "$conf"
        printf '%s\n' -c "$conf" >"$SD/args"
      else
        printf '%s\n' -js -a 127.0.0.1 -p "$port" -m "$mon" -sd "$store" >"$SD/args"
      fi
    fi
    say "starting server '$NAME' ($(get mode)) on 127.0.0.1:$port, monitor $mon${auth:+, with $auth authorization}"
    launch || say "could not launch the server"
    if wait_healthy; then
      say "server '$NAME' is up; log: $SD/log"
      get url
      return 0
    fi
    # Lost a race for a port? Then try again on others.
    if [ "$(get mode)" = binary ] && grep -q 'address already in use' "$SD/log" 2>/dev/null && [ "$attempt" -lt 3 ]; then
      say "a port was taken meanwhile; trying other ports"
      end_pid "$(get pid)" "$(mark)" kill
      rm -rf -- "$store"
      continue
    fi
    break
  done
  show_log
  # Never leave a half-started server behind.
  remove_all
  exit 1
}

cmd_url() {
  running || die "no server '$NAME' is running"
  get url
}

cmd_stop() {
  if [ ! -f "$SD/mode" ]; then
    say "server '$NAME' is not running"
    rm -rf -- "$SD"
    return 0
  fi
  [ "$(get mode)" = external ] || say "stopping server '$NAME'"
  remove_all
}

# cmd_down kill|term: end the server but keep everything for `restart`.
cmd_down() {
  [ -f "$SD/mode" ] || die "no server '$NAME' (start it first)"
  case "$(get mode)" in
    external) die "server '$NAME' is external (NATS_URL): not ours to $1" ;;
    binary)
      say "$1: server '$NAME' (pid $(get pid))"
      end_pid "$(get pid)" "$(mark)" "$1"
      ;;
    docker)
      local c
      c="$(get container)"
      say "$1: server '$NAME' (container $c)"
      if [ "$1" = kill ]; then
        docker kill "$c" >/dev/null 2>&1 || true
      else
        docker stop -t 10 "$c" >/dev/null 2>&1 || true
      fi
      ;;
  esac
}

cmd_restart() {
  [ -f "$SD/mode" ] || die "no server '$NAME' to restart (use start)"
  case "$(get mode)" in
    external) die "server '$NAME' is external (NATS_URL): cannot restart it" ;;
    binary)
      [ -d "$(get store)" ] || die "the store of server '$NAME' ($(get store)) is gone"
      ;;
  esac
  if running; then
    cmd_down term
  fi
  if [ "$(get mode)" = binary ]; then
    local p
    for p in "$(get port)" "$(get monport)"; do
      if tcp_open 127.0.0.1 "$p"; then
        die "port $p of server '$NAME' is taken by another process: cannot restart on it"
      fi
    done
  fi
  say "restarting server '$NAME' on $(get url)"
  launch || say "could not launch the server"
  if ! wait_healthy; then
    show_log
    # Keep the state (the store may matter to whoever investigates), but
    # leave no process behind.
    [ "$(get mode)" != binary ] || end_pid "$(get pid)" "$(mark)" kill
    exit 1
  fi
  get url
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    -h | --help | help) usage; return 0 ;;
    start | url | stop | kill | term | restart) ;;
    "") usage >&2; return 2 ;;
    *) say "unknown command '$cmd'"; usage >&2; return 2 ;;
  esac
  [ $# -le 2 ] || { usage >&2; return 2; }
  NAME="${2:-default}"
  [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad NAME '$NAME' (letters, digits, '.', '_', '-')"
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "JETSIM_NATS_START_TIMEOUT must be a number of seconds"
  SD="$STATE_ROOT/$NAME"
  (umask 077 && mkdir -p "$STATE_ROOT")

  # One command at a time per NAME (parallel make, concurrent test jobs).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_ROOT/.$NAME.lock"
    flock -w 60 9 || die "server '$NAME' is locked by another $prog for 60 s"
  fi

  case "$cmd" in
    start) cmd_start ;;
    url) cmd_url ;;
    stop) cmd_stop ;;
    kill | term) cmd_down "$cmd" ;;
    restart) cmd_restart ;;
  esac
}

# Sourcing the script (for its helpers) runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
