#!/usr/bin/env bash
# scripts/demo.d/20_postgrest.sh: the HTTP API beside the demo cluster.
#   bash 20_postgrest.sh start|stop    (called by scripts/demo.sh)
# with BINDIR, DEMO, PGHOST, PGPORT, PGUSER and PGDATABASE set.  `start` sets
# up the API in the demo database (movierec.create_api_roles()), creates the
# demo logins, starts PostgREST 12 with postgrest/postgrest.conf on
# 127.0.0.1:${MOVIEREC_HTTP_PORT:-3000} (admin server on the next port, or
# MOVIEREC_HTTP_ADMIN_PORT), waits on /ready and prints the base URL, the
# login and a working curl line.  `stop` stops it (pid in $DEMO/postgrest.pid).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${MOVIEREC_HTTP_PORT:-3000}
APORT=${MOVIEREC_HTTP_ADMIN_PORT:-$((PORT + 1))}
PIDFILE=$DEMO/postgrest.pid
LOG=$DEMO/postgrest.log
BIN=$ROOT/.build/postgrest/bin/postgrest
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)

stop() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 1 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
    echo "PostgREST stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

[ -x "$BIN" ] || bash "$ROOT/scripts/deps.sh"
stop   # a new secret may have been made: restart rather than reuse

USER_ID=$("${PSQL[@]}" -c "SELECT coalesce(min(user_id), 1) FROM movierec.ratings")
"${PSQL[@]}" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT movierec.create_api_roles();
SELECT movierec.create_account('demo', 'movierec-demo', $USER_ID);
SELECT movierec.create_account('demo-admin', 'movierec-admin', $USER_ID, 'web_admin');
SQL
SECRET=$("${PSQL[@]}" -c 'SELECT movierec.jwt_secret()')

# the GHC runtime options: the "#! GHCRTS=" line of postgrest/postgrest.conf
# (and the cluster's Unix socket: less CPU per request than loopback TCP)
GHCRTS=${GHCRTS:-$(sed -n 's/^#! GHCRTS=//p' "$ROOT/postgrest/postgrest.conf")} \
PGRST_DB_URI="postgres://movierec_authenticator@/$PGDATABASE?host=$PGHOST&port=$PGPORT" \
PGRST_SERVER_PORT=$PORT PGRST_ADMIN_SERVER_PORT=$APORT PGRST_JWT_SECRET=$SECRET \
  nohup "$BIN" "$ROOT/postgrest/postgrest.conf" >"$LOG" 2>&1 &
echo $! > "$PIDFILE"
ok=0
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/ready")" = 200 ] && { ok=1; break; }
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
  sleep 0.1
done
if [ "$ok" != 1 ]; then
  echo "PostgREST did not start; its log ($LOG):" >&2; tail -20 "$LOG" >&2; stop; exit 1
fi

URL=http://127.0.0.1:$PORT
cat <<MSG

The HTTP API (PostgREST 12) is at $URL   (health: http://127.0.0.1:$APORT/ready, OpenAPI: GET $URL/)
  login: demo / movierec-demo          (web_user for user_id $USER_ID; demo-admin / movierec-admin is web_admin)
  TOKEN=\$(curl -s -X POST $URL/rpc/login -H 'Content-Type: application/json' -d '{"username": "demo", "password": "movierec-demo"}' | jq -r .access_token)
  curl -s "$URL/rpc/recommend?user_id=$USER_ID&k=5" -H "Authorization: Bearer \$TOKEN"
  curl -s -g "$URL/movies?genres=cs.{Comedy}&order=year.desc&limit=5"
(web_user is limited to 10 requests a minute, as the seed was: see movierec.rate_limits)
MSG
