#!/usr/bin/env bash
# Failover with repmgr (Debian's repmgr 5.3): a primary and two standbys
# cloned and registered by repmgr; the primary fails (immediate stop);
# `repmgr standby promote` makes standby 1 the primary, `repmgr standby
# follow` repoints standby 2 to it; the new primary trains and promotes, the
# follower replays it and serves it; a client with a multi-host connection
# string and target_session_attrs=read-write finds the new primary.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/scale_lib.sh"
[ -x "$BINDIR/repmgr" ] || { echo "repmgr is not installed (scripts/deps.sh installs postgresql-15-repmgr)"; exit 77; }
trap scale_stop_all EXIT
export PGDATABASE=scale
share_with_pg "$T"

P1=$(free_port); P2=$(free_port); P3=$(free_port)
# node N's repmgr.conf
conf() {
  local n=$1 port=$2
  cat >"$T/node$n.conf" <<CONF
node_id=$n
node_name='node$n'
conninfo='host=127.0.0.1 port=$port user=postgres dbname=scale connect_timeout=2'
data_directory='$T/node$n'
pg_bindir='$BINDIR'
log_level='WARNING'
CONF
  share_with_pg "$T/node$n.conf"
}
rm() { command rm "$@"; }
repmgr() { as_pg "$BINDIR/repmgr" "$@"; }

scale_primary "$T/node1" "$P1" || exit 1
PGDATABASE=postgres qp "$P1" "CREATE DATABASE scale" || exit 1
qp "$P1" "CREATE EXTENSION movierec; SELECT generate_ratings(800, 200, 20000, seed => 5);
          UPDATE ratings SET rated_at = timestamptz '2020-01-01' + (user_id % 100) * interval '1 day';
          SELECT train('movies', 'als', '{\"factors\": 8, \"iterations\": 5}'); SELECT promote(1);" >/dev/null || exit 1
conf 1 "$P1"; conf 2 "$P2"; conf 3 "$P3"
tap_ok "repmgr primary register" repmgr -f "$T/node1.conf" primary register
for n in 2 3; do
  port=$([ $n = 2 ] && echo "$P2" || echo "$P3")
  repmgr -h 127.0.0.1 -p "$P1" -U postgres -d scale -f "$T/node$n.conf" standby clone --fast-checkpoint >"$T/clone$n.log" 2>&1 ||
    { cat "$T/clone$n.log"; exit 1; }
  mkdir -p "$T/node$n.sock"; share_with_pg "$T/node$n.sock"
  printf "port = %s\nunix_socket_directories = '%s'\n" "$port" "$T/node$n.sock" >>"$T/node$n/postgresql.conf"
  as_pg "$BINDIR/pg_ctl" -D "$T/node$n" -l "$T/node$n/server.log" -w -t 60 start >/dev/null || exit 1
  SCALE_CLUSTERS+=("$T/node$n")
  tap_ok "standby $n cloned and registered" repmgr -f "$T/node$n.conf" standby register --upstream-node-id=1
done
scale_wait_replay "$P1" "$P2" && scale_wait_replay "$P1" "$P3" || exit 1
before=$(scale_answers "$P1" NULL)
tap_is "cluster show: one primary, two standbys" \
  "$(repmgr -f "$T/node1.conf" cluster show --csv 2>/dev/null | cut -d, -f1-3 | sort | tr '\n' ' ')" "1,0,0 2,0,1 3,0,1 "

# the primary fails
as_pg "$BINDIR/pg_ctl" -D "$T/node1" -m immediate -w stop >/dev/null
tap_ok "standby 1 promoted by repmgr" repmgr -f "$T/node2.conf" standby promote
tap_is "node 2 is now a primary" "$(qp "$P2" "SELECT pg_is_in_recovery()")" f
tap_ok "standby 2 follows the new primary" repmgr -f "$T/node3.conf" standby follow
tap_is "cluster show: node 1 unreachable, node 2 primary, node 3 its standby" \
  "$(repmgr -f "$T/node2.conf" cluster show --csv 2>/dev/null | cut -d, -f1-3 | sort | tr '\n' ' ')" "1,-1,-1 2,0,0 3,0,1 "
tap_ok "the new primary serves the old primary's answers" eq "$(scale_answers "$P2" NULL)" "$before"

# the new primary writes; the follower replays
qp "$P2" "SELECT train('movies', 'als', '{\"factors\": 8, \"iterations\": 5, \"seed\": 9}'); SELECT promote(2);" >/dev/null
tap_is "the new primary trains and promotes" "$(qp "$P2" "SELECT model_id FROM models WHERE stage = 'production'")" 2
scale_wait_replay "$P2" "$P3" || exit 1
tap_ok "the follower serves the new primary's model" eq "$(scale_answers "$P3" NULL)" "$(scale_answers "$P2" NULL)"
tap_is "a write through host=...,... target_session_attrs=read-write lands on node 2" \
  "$("$BINDIR/psql" -qXAt "host=127.0.0.1,127.0.0.1,127.0.0.1 port=$P1,$P3,$P2 dbname=scale user=postgres target_session_attrs=read-write connect_timeout=2" \
     -c "SHOW port")" "$P2"
tap_done
