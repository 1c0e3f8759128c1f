#!/usr/bin/env bash
# tests/check_exports.sh — the shared library exports only its API.
#
#   tests/check_exports.sh BUILD_DIR
#
# Checks, on BUILD_DIR/libjetsim.so: every dynamic symbol it defines is a
# public ps_ one (none of the backends' mem_*/jsb_* internals); its SONAME
# is libjetsim.so.0; `make install` installs the backend-author header
# ps_backend_impl.h and no other header declares its functions; and
# `make install` into a scratch directory gives a user what the example needs: examples/workqueue.c compiles against the
# installed headers alone, links against the installed shared library and
# runs. Exits non-zero, saying why, when any of that does not hold.
set -euo pipefail
build="${1:?usage: tests/check_exports.sh BUILD_DIR}"
lib="$build/libjetsim.so"
fail() { echo "exports: FAILED: $*"; exit 1; }

[ -e "$lib" ] || fail "$lib does not exist (make first)"
syms="$(nm -D --defined-only "$lib" | awk '{print $3}')"
others="$(printf '%s\n' "$syms" | grep -v '^ps_' || true)"
[ -z "$others" ] || fail "$(printf '%s\n' "$others" | wc -l) internal symbol(s) exported, e.g. $(printf '%s\n' "$others" | head -3 | tr '\n' ' ')"
soname="$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[ "$soname" = "libjetsim.so.0" ] || fail "SONAME is '$soname', expected libjetsim.so.0"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory -s BUILD="$build" DESTDIR="$tmp" PREFIX=/usr install >/dev/null
inc="$tmp/usr/include/jetsim"
for h in "$inc"/*.h; do
  case "$(basename "$h")" in
    ps_*.h) ;;
    *) fail "make install installed an internal header: $(basename "$h")" ;;
  esac
done
# The backend-author functions are declared in ps_backend_impl.h alone: an
# application's headers do not offer them, a backend author's is installed.
[ -f "$inc/ps_backend_impl.h" ] || fail "make install did not install ps_backend_impl.h (the backend-author API)"
for h in "$inc"/*.h; do
  [ "$(basename "$h")" = ps_backend_impl.h ] && continue
  if grep -Eq '^[a-z_ ]*[ *](ps_error|ps_error_v|ps_error_set_native|ps_backend_emit_advisory|ps_backend_emit_pub_result|ps_msg_list_push)\(' "$h"; then
    fail "$(basename "$h") declares a backend-author function (it belongs in ps_backend_impl.h)"
  fi
done
cc -std=c11 -Wall -Wextra -Werror -I"$inc" -o "$tmp/workqueue" examples/workqueue.c \
  -L"$tmp/usr/lib" -ljetsim -pthread -lm \
  || fail "examples/workqueue.c does not build against the installed headers and libjetsim.so"
LD_LIBRARY_PATH="$tmp/usr/lib" "$tmp/workqueue" >/dev/null || fail "the example linked against libjetsim.so did not run"
echo "exports: ok ($(printf '%s\n' "$syms" | wc -l) symbols, all ps_; SONAME $soname; installed headers build and run the example)"
