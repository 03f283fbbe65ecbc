#!/usr/bin/env bash
# test/fuzz/run.sh SECONDS [OUT]: build every libFuzzer target in test/fuzz
# (clang, -fsanitize=fuzzer,address,undefined), replay its kept crash inputs
# (test/fuzz/crashes/NAME-*: each must now pass), then fuzz it for SECONDS
# from its corpus (test/fuzz/corpus/NAME; new inputs go to a scratch copy).
# Prints one TAP line per target and "# fuzz NAME: N execs, N crashes".
# A crash input is saved to OUT (default: a temporary folder) for keeping
# under test/fuzz/crashes/.  Exit 0 when nothing crashed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-10}
OUT=${2:-$(mktemp -d /tmp/movierec-fuzz.XXXXXX)}
mkdir -p "$OUT"
n=0; fails=0
for src in "$ROOT"/test/fuzz/*.c; do
  name=$(basename "$src" .c)
  n=$((n + 1))
  srcs=$(sed -n 's|^// sources: *||p' "$src")
  bin=$OUT/$name.fuzz
  ( cd "$ROOT" && clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -Isrc/kernels -o "$bin" "$src" $srcs src/kernels/blas.c -ldl -lm -lpthread ) >"$OUT/$name.build" 2>&1 ||
    { echo "not ok $n - fuzz $name builds"; cat "$OUT/$name.build"; fails=$((fails + 1)); continue; }
  replay_ok=1
  for c in "$ROOT"/test/fuzz/crashes/"$name"-*; do
    [ -e "$c" ] || continue
    "$bin" "$c" >"$OUT/$name.replay" 2>&1 || { replay_ok=0; echo "# kept crash input $c still fails"; }
  done
  work=$OUT/$name.corpus; mkdir -p "$work"
  "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$OUT/$name-" "$work" "$ROOT/test/fuzz/corpus/$name" >"$OUT/$name.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$name.log" | tail -1)
  crashes=$(ls "$OUT/$name"-crash-* "$OUT/$name"-leak-* "$OUT/$name"-timeout-* "$OUT/$name"-oom-* 2>/dev/null | wc -l)
  echo "# fuzz $name: ${execs:-0} execs, $crashes crashes in ${SECS} s"
  if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "$replay_ok" = 1 ] && [ "${execs:-0}" -gt 0 ]; then
    echo "ok $n - fuzz $name"
  else
    echo "not ok $n - fuzz $name (rc $rc; inputs in $OUT)"; grep -E 'ERROR|SUMMARY' "$OUT/$name.log" | head -5
    fails=$((fails + 1))
  fi
done
echo "1..$n"
[ "$fails" -eq 0 ]
