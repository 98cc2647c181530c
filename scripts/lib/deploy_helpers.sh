# shellcheck shell=bash
# Sourced by scripts/test_deploy.sh: its bookkeeping (step, check) and process helpers
# (free_port, wait_for, launch). The caller owns passed, failed, failures and pids.
# shellcheck disable=SC2154 # passed, failed, failures and pids are the caller's

step() { printf '\n==> %s (at %ss)\n' "$*" "$SECONDS"; }

# check "what" command...: runs it, shows its output indented, counts a pass or a failure.
check() {
  local what=$1 output rc
  shift
  echo "--- $what"
  set +e
  output=$("$@" 2>&1)
  rc=$?
  set -e
  [ -n "$output" ] && printf '%s\n' "$output" | sed 's/^/    /' | tail -40
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "    PASS"
  else
    failed=$((failed + 1))
    failures+=("$what")
    echo "    FAIL ($what, exit $rc)"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    case $port in 5432 | 9090 | 9093 | 9094 | 9188) continue ;; esac
    port_in_use "$port" || { echo "$port"; return; }
  done
  echo "no free port found" >&2
  return 1
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every half second.
wait_for() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${limit}s waiting for $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# launch VAR READY_PATH LOG COMMAND...: starts COMMAND, in which @PORT@ stands for a free port,
# in the background and waits until http://127.0.0.1:PORT/READY_PATH answers. If the process exits
# first (the port was taken in between), it tries again on another port. Sets VAR to the port.
launch() {
  local var=$1 ready=$2 logfile=$3 port pid attempt deadline
  shift 3
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "${@//@PORT@/$port}" >"$logfile" 2>&1 &
    pid=$!
    deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      if curl -fsS "http://127.0.0.1:$port$ready" >/dev/null 2>&1; then
        pids+=("$pid")
        printf -v "$var" '%s' "$port"
        return 0
      fi
      sleep 0.5
    done
    # The process may have exited already (a port taken in the meantime): neither kill nor
    # wait may end the script under set -e; the next attempt takes another port.
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "attempt $attempt of $1 on port $port failed:" >&2
    tail -5 "$logfile" | sed 's/^/    /' >&2
  done
  echo "could not start $1 in 5 attempts" >&2
  return 1
}
