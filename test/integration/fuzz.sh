#!/usr/bin/env bash
# The libFuzzer targets in test/fuzz, 10 s each (bench/fuzz runs 60 s).
set -u
command -v clang >/dev/null || { echo "clang is not installed"; exit 77; }
exec bash "$ROOT/test/fuzz/run.sh" "${MR_FUZZ_SECONDS:-10}" "$T/fuzz"
