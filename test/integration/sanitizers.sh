#!/usr/bin/env bash
# The C kernel unit tests (test/unit) once more, built by clang with
# AddressSanitizer and UndefinedBehaviorSanitizer (-fno-sanitize-recover:
# any report fails the test).  Each test's own TAP lines are checked too.
set -u
. "$ROOT/test/lib.sh"
command -v clang >/dev/null || { echo "clang is not installed"; exit 77; }
cd "$ROOT"
for t in test/unit/*.c; do
  name=$(basename "$t" .c)
  srcs=$(sed -n 's|^// sources: *||p' "$t")
  bin=$T/$name.asan
  if ! clang -g -O1 -std=gnu11 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
       -Isrc -Isrc/kernels -o "$bin" "$t" $srcs src/kernels/blas.c -ldl -lm -lpthread >"$T/$name.build" 2>&1; then
    tap_ok "asan+ubsan build of unit/$name" false; head -20 "$T/$name.build"; continue
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$ROOT/test/unit/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 "$bin" >"$T/$name.out" 2>&1
  rc=$?
  notok=$(grep -cE '^[[:space:]]*not ok' "$T/$name.out")
  tap_ok "unit/$name under asan+ubsan (its TAP: $(grep -cE '^[[:space:]]*ok' "$T/$name.out") ok, $notok not ok)" \
    [ "$rc" -eq 0 -a "$notok" -eq 0 ]
  [ "$rc" -ne 0 ] && grep -E 'ERROR|runtime error|SUMMARY' "$T/$name.out" | head -5
done
tap_done
