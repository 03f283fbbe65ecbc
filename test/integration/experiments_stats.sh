#!/usr/bin/env bash
# The experiment statistics against an independent computation: the
# distribution functions, the assignment hash and every figure of
# experiment_report on fixed per-user data (experiments_stats.py, Python's
# standard library only).  Runs in its own database.
set -u
command -v python3 >/dev/null || { echo "# no python3"; exit 77; }
"$BINDIR/psql" -qX -d postgres -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS movierec_exp_stats' \
  -c 'CREATE DATABASE movierec_exp_stats' >/dev/null || exit 1
"$BINDIR/psql" -qX -d movierec_exp_stats -c 'CREATE EXTENSION movierec' >/dev/null || exit 1
PGDATABASE=movierec_exp_stats python3 "$ROOT/test/integration/experiments_stats.py"
rc=$?
"$BINDIR/psql" -qX -d postgres -c 'DROP DATABASE movierec_exp_stats' >/dev/null
exit $rc
