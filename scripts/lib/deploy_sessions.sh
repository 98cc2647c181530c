# shellcheck shell=bash
# Sourced by scripts/test_deploy.sh: the trouble of its live checks, as psql sessions kept open.
# shellcheck disable=SC2154,SC2034 # variables shared with test_deploy.sh (pgport, pool_fds...)

# open_session APP [DB] [USER] [PORT]: a psql session kept open on a FIFO; send SQL with `say`,
# end it with close_session (psql reads EOF and disconnects). This shell holds the only write end
# of each FIFO: psql starts without the descriptors of the other sessions. PORT defaults to the
# server's; $pgbport is PgBouncer's.
open_session() {
  local app=$1 db=${2:-postgres} user=${3:-postgres} port=${4:-$pgport} fifo fd
  fifo="$work/session.${#session_fds[@]}"
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  session_fds+=("$fd")
  (
    for inherited in "${session_fds[@]}"; do eval "exec $inherited>&-"; done
    exec psql -X -q "host=127.0.0.1 port=$port dbname=$db user=$user application_name=$app" \
      -f "$fifo" >>"$work/sessions.log" 2>&1
  ) &
  pids+=($!)
  last_fd=$fd
}
say() { printf '%s\n' "$2" >&"$1"; }
close_session() { eval "exec $1>&-"; }

# start_trouble: the sessions the expected alerts need; sets blocked_since (when the lock wait
# began) and pool_fds (the e2e-pool sessions, closed later to resolve PostgresPoolBudgetExceeded).
start_trouble() {
  for _ in 1 2 3; do open_session e2e-idle; say "$last_fd" "SELECT 1;"; done
  open_session e2e-holder
  say "$last_fd" "BEGIN; LOCK TABLE e2e_locked IN ACCESS EXCLUSIVE MODE;"
  sleep 0.5
  open_session e2e-waiter
  say "$last_fd" "SELECT count(*) FROM e2e_locked;"
  blocked_since=$SECONDS
  open_session e2e-report
  say "$last_fd" "SELECT pg_sleep(600);"
  pool_fds=()
  for _ in 1 2 3; do open_session e2e-pool; say "$last_fd" "SELECT 1;"; pool_fds+=("$last_fd"); done
  for _ in 1 2 3 4 5; do open_session e2e-role e2e_app e2e_app; say "$last_fd" "SELECT 1;"; done
  open_session e2e-scan
  say "$last_fd" "SELECT count(*) FROM e2e_events WHERE status = 'open' \\watch 0.5"
  open_session e2e-slow
  say "$last_fd" "SELECT pg_sleep(1.2) \\watch 0.2"
  echo "sessions: 3 idle, 1 idle in transaction holding an exclusive lock, 1 waiting on it, 1 long query,"
  echo "          3 in pool e2e-pool (budget 2), 5 of role e2e_app (limit 5), 1 seq-scanning e2e_events,"
  echo "          1 repeating a 1.2 s statement;"
  # Through PgBouncer: two sessions hold the session pool's two server connections, a third waits;
  # one client of the budget database gives that pool (and its budget) a row in SHOW POOLS.
  for _ in 1 2; do open_session e2e-pgb-holder session postgres "$pgbport"; say "$last_fd" "SELECT 1;"; done
  sleep 0.5
  open_session e2e-pgb-waiter session postgres "$pgbport"
  say "$last_fd" "SELECT 1;"
  open_session e2e-pgb-budget budget postgres "$pgbport"
  say "$last_fd" "SELECT 1;"
  echo "          through PgBouncer: 2 holding the session pool (size 2), 1 waiting, 1 in the budget pool"
}

# provoke_deadlock: each session locks one row, then the other's (deadlock_timeout is 1s); then
# both sessions go, so that they do not count against max_connections later.
both_hold_a_row() {
  [ "$(psql -X -At "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" -c \
    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'e2e-deadlock-_'
       AND state = 'idle in transaction'")" = 2 ]
}
provoke_deadlock() {
  local a b
  open_session e2e-deadlock-a; a=$last_fd
  open_session e2e-deadlock-b; b=$last_fd
  say "$a" "BEGIN; UPDATE e2e_deadlock SET id = id WHERE id = 1;"
  say "$b" "BEGIN; UPDATE e2e_deadlock SET id = id WHERE id = 2;"
  wait_for 30 "both deadlock sessions to hold their row" both_hold_a_row || return 1
  say "$a" "UPDATE e2e_deadlock SET id = id WHERE id = 2;"
  say "$b" "UPDATE e2e_deadlock SET id = id WHERE id = 1;"
  sleep 2
  say "$a" "ROLLBACK;"
  say "$b" "ROLLBACK;"
  close_session "$a"
  close_session "$b"
  echo "provoked a deadlock between e2e-deadlock-a and e2e-deadlock-b"
}
