#!/usr/bin/env bash
# The experiment simulator, small and with fixed seeds (bench/experiments
# runs the full version): users of a generate_ratings() set click shown
# movies with a probability that grows with their planted true score.
#  - A/A with daily peeking: the confidence sequence is wider than the
#    fixed-horizon interval at every peek, and false positives stay rare;
#  - power: ALS beats popularity in an A/B test and by interleaving;
#  - SRM: a clean run is not flagged, one with 10% of an arm's exposures
#    dropped is.
# Runs in its own database.
set -u
. "$ROOT/test/lib.sh"
DB=movierec_exp_sim
P=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -d $DB)
Q() { "${P[@]}" -c "SET client_min_messages = warning" -c "$1"; }
"$BINDIR/psql" -qX -d postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $DB" \
  -c "CREATE DATABASE $DB" >/dev/null || exit 1
trap '"$BINDIR/psql" -qX -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
Q 'CREATE EXTENSION movierec' >/dev/null || exit 1
"${P[@]}" -c 'SET client_min_messages = warning' -f "$ROOT/bench/experiments_sim.sql" >/dev/null || exit 1
Q "SELECT movierec.generate_ratings(3000, 1000, 90000, rank => 10, noise => 0.5, seed => 1);
   INSERT INTO mr_sim.dataset VALUES (3000, 1000, 10, 1);
   SELECT movierec.train('als', 'als', '{\"factors\": 32}');
   SELECT movierec.train('pop', 'popularity');" >/dev/null || exit 1

# A/A: 20 seeds x 200 users x 4 days
Q "SELECT mr_sim.aa_runs('als', 1, 20, 200, 4, 0.5)" >/dev/null || exit 1
tap_is "every A/A run has a report each day" "$(Q "SELECT count(*) FROM mr_sim.aa WHERE p_value IS NOT NULL")" 80
tap_is "the A/A runs do reach most users" "$(Q "SELECT min(users) > 150 FROM mr_sim.aa WHERE day = 4")" t
fpr=$(Q "SELECT fpr_fixed_horizon || ' ' || fpr_naive_peeking || ' ' || fpr_sequential_peeking FROM mr_sim.aa_summary")
echo "# A/A false-positive rates over 20 seeds (fixed, naive peeking, sequential peeking): $fpr"
tap_is "fixed-horizon false positives at most 3 of 20" "$(Q "SELECT fpr_fixed_horizon <= 0.15 FROM mr_sim.aa_summary")" t
tap_is "sequential peeking false positives at most 1 of 20" "$(Q "SELECT fpr_sequential_peeking <= 0.05 FROM mr_sim.aa_summary")" t
# the sequence is wider than the fixed interval at every peek (its width is in the report)
tap_is "confidence sequence wider than the t interval at every peek" \
  "$(Q "SELECT bool_and((r->'variants'->1->'metrics'->'ctr'->>'seq_ci_high')::float8 - (r->'variants'->1->'metrics'->'ctr'->>'seq_ci_low')::float8
                        > (r->'variants'->1->'metrics'->'ctr'->>'ci_high')::float8 - (r->'variants'->1->'metrics'->'ctr'->>'ci_low')::float8)
        FROM (SELECT mr_sim.ab_run('als', 'als', 99, 200, 1, 1.0) AS r) x")" t

# power: ALS against popularity
ab=$(Q "SELECT mr_sim.ab_run('pop', 'als', 1, 1000, 4, 0.9)")
tap_is "A/B: ALS has the higher click-through rate" \
  "$(Q "SELECT ('$ab'::jsonb->'variants'->1->'metrics'->'ctr'->>'lift')::float8 > 0")" t
tap_is "A/B: the difference is significant" \
  "$(Q "SELECT ('$ab'::jsonb->'variants'->1->'metrics'->'ctr'->>'p_value')::float8 < 0.05")" t
il=$(Q "SELECT mr_sim.il_run('pop', 'als', 1, 250, 4, 0.9)")
tap_is "interleaving: ALS (team b) wins more impressions" \
  "$(Q "SELECT ('$il'::jsonb->'interleave'->>'delta')::float8 < 0")" t
tap_is "interleaving: significant with a quarter of the users" \
  "$(Q "SELECT ('$il'::jsonb->'interleave'->>'p_value')::float8 < 0.05")" t
echo "# users for 80% power from these runs (A/B, interleaving, ratio): $(Q "SELECT round(ab_users) || ' ' || round(il_users) || ' ' || round(ratio::numeric, 2) FROM mr_sim.users_for_power('$ab', '$il')")"

# SRM
srm=$(Q "SELECT clean_mismatch || ' ' || dropped_mismatch FROM mr_sim.srm_run('als', 1, 6000, 0.1)")
tap_is "SRM: clean run not flagged, 10% of one arm's exposures dropped flagged" "$srm" "false true"
tap_done
