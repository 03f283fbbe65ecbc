#!/usr/bin/env bash
# bench/churn for 15 s: recommend under load while models are retrained,
# promoted and rolled back, ratings come and go and recommend_all runs;
# no call may fail, and none may serve another model than the production
# model of its own snapshot.
set -u
. "$ROOT/test/lib.sh"
out=$T/churn.out
CHURN_SECONDS=${MR_CHURN_SECONDS:-15} REST_SECONDS=3 BINDIR=$BINDIR MOVIELENS_DIR=$MOVIELENS_DIR \
  bash "$ROOT/bench/churn" >"$out" 2>&1
rc=$?
sed 's/^/# /' "$out"
tap_ok "churn: calls were served" grep -qE '^calls during churn: [1-9]' "$out"
tap_ok "churn: models changed meanwhile" grep -qE '^churn rounds .*: [1-9][0-9]*; rounds failed: 0$' "$out"
tap_is "churn: errors" "$(sed -n 's/^errors: //p' "$out")" 0
tap_is "churn: stale responses" "$(sed -n 's/^stale responses: \([0-9]*\).*/\1/p' "$out")" 0
tap_is "bench/churn exit status" "$rc" 0
tap_done
