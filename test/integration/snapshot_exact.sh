#!/usr/bin/env bash
# A training run's snapshot record describes exactly the rows it read, even
# in READ COMMITTED while another session commits new ratings during the
# run: the statistics are computed under the snapshot of the read.
set -u
P=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
. "$ROOT/test/lib.sh"

"${P[@]}" >/dev/null <<'SQL' || exit 1
DROP TABLE IF EXISTS snap_src, snap_before;
CREATE TABLE snap_src AS
SELECT u AS user_id, i AS movie_id, (1 + (u * 7 + i * 13) % 9) / 2.0 AS rating
  FROM generate_series(1, 3000) u, generate_series(1, 100) i;
CREATE TABLE snap_before AS SELECT * FROM snap_src;
SQL

# a slow enough run in another session (autocommit, READ COMMITTED)
"${P[@]}" -c "SELECT movierec.train('snap_exact', 'als', '{\"factors\": 64, \"iterations\": 40}', 'snap_src')" \
  >"$T/train.out" 2>&1 &
bg=$!
# wait until the read is over (the kernel reports iterations)
for _ in $(seq 1 200); do
  ph=$("${P[@]}" -c "SELECT phase FROM movierec.training_progress WHERE model = 'snap_exact'")
  [ "$ph" = iteration ] && break
  sleep 0.05
done
tap_is "the run is past its read when the other session writes" "$ph" iteration
"${P[@]}" -c "INSERT INTO snap_src SELECT 5000 + u, 1, 4 FROM generate_series(1, 500) u" || exit 1
wait $bg
tap_is "training succeeds" "$?" 0

got=$("${P[@]}" -c "SELECT s.n_rows || ' ' || s.checksum FROM movierec.models m JOIN movierec.snapshots s USING (snapshot_id) WHERE m.model_name = 'snap_exact'")
want=$("${P[@]}" -c "SELECT n_rows || ' ' || checksum FROM movierec._snapshot_stats('snap_before', 'user_id', 'movie_id', 'rating')")
now=$("${P[@]}" -c "SELECT n_rows || ' ' || checksum FROM movierec._snapshot_stats('snap_src', 'user_id', 'movie_id', 'rating')")
tap_is "the snapshot is of the rows read (300000), not of the table after the write" "$got" "$want"
tap_is "the table did change meanwhile" "$([ "$now" != "$want" ] && echo changed)" changed
tap_is "the model's n_ratings agrees with its snapshot" \
  "$("${P[@]}" -c "SELECT m.n_ratings = s.n_rows FROM movierec.models m JOIN movierec.snapshots s USING (snapshot_id) WHERE m.model_name = 'snap_exact'")" t
"${P[@]}" -c "SELECT movierec.drop_model(model_id) FROM movierec.models WHERE model_name = 'snap_exact'" -c "DROP TABLE snap_src, snap_before" >/dev/null
tap_done
