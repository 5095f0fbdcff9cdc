#!/usr/bin/env bash
# pgha-fencer: PgHa's write fence for one PostgreSQL data directory.
#
# Usage: pgha-fencer.sh DATA_DIR STATE_DIR [POLL_SECONDS]
#
# The PgHa agent writes STATE_DIR/fence.deadline atomically (temp file + rename) after every confirmed leader-lock
# acquire/renew. It holds one line:
#   <centiseconds>  a deadline on CLOCK_BOOTTIME, the clock of /proc/uptime (it keeps counting while the machine is
#                   suspended, and NTP never steps it);
#   none            disarmed (a replica needs no fence);
#   exit            the fencer exits (clean shutdown, tests).
# A missing or unreadable file reads as a deadline that has passed: the fence fails closed.
#
# It re-reads the file at least every 0.1 s while armed and wakes exactly at the deadline (never later than the
# deadline by more than the scheduler's delay), every 0.2 s while disarmed (arming always sets a deadline seconds
# ahead), and every POLL_SECONDS (default 0.025) while the deadline has passed or the file is unreadable. An idle
# fencer therefore wakes 5–10 times a second instead of 40. Once the deadline has passed and the
# postmaster of DATA_DIR runs as a primary (no standby.signal), it sends SIGQUIT to the postmaster (PostgreSQL's
# immediate shutdown: every backend exits at once) and, if the postmaster is still alive after one second, SIGKILL to
# the postmaster, its process group and each child's process group. It keeps doing so while the deadline stays passed,
# so a primary started behind the agent's back is stopped too.
#
# The agent starts it with `setsid -f`, so it has its own session and outlives the agent (SIGSTOP, kill -9). One per
# data directory: a second copy exits at once (flock on STATE_DIR/fencer.lock). The steady-state loop runs bash
# builtins only (no fork); memory is one bash process.
set -u

data_dir=${1:?data directory}
state_dir=${2:?state directory}
poll=${3:-0.025}
deadline_file=$state_dir/fence.deadline
pid_file=$state_dir/fencer.pid

log() {
  printf '%(%Y-%m-%d %H:%M:%S)T pgha-fencer[%d] %s\n' -1 "$$" "$*"
}

if command -v flock >/dev/null 2>&1; then
  exec {lock_fd}>"$state_dir/fencer.lock"
  if ! flock -n "$lock_fd"; then
    log "another fencer already guards $data_dir; exiting"
    exit 0
  fi
fi

# A pipe only we hold: `read -t` on it sleeps without forking a sleep process.
exec {sleep_fd}<> <(:)
nap() { read -r -t "$1" -u "$sleep_fd" _ || true; }

printf '%d\n' "$$" > "$pid_file.tmp.$$" && mv -f "$pid_file.tmp.$$" "$pid_file"
log "guarding $data_dir (deadline file $deadline_file, poll ${poll}s)"

uptime_cs() {
  local up _rest
  read -r up _rest < /proc/uptime
  up=${up/./}
  echo_cs=$((10#$up))
}

# Children of a process, read from /proc (children file when the kernel has it, else a scan of every stat).
children_of() {
  local parent=$1 f line rest ppid
  kids=()
  if [[ -r /proc/$parent/task/$parent/children ]]; then
    read -r -a kids < "/proc/$parent/task/$parent/children" || true
    return
  fi
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    rest=${line##*) }
    read -r _ ppid _ <<< "$rest"
    if [[ $ppid == "$parent" ]]; then
      f=${f#/proc/}
      kids+=("${f%/stat}")
    fi
  done
}

# True while the process exists and has not exited (kill -0 also succeeds for a zombie that waits to be reaped).
alive() {
  local line rest
  kill -0 "$1" 2>/dev/null || return 1
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  [[ ${rest:0:1} != [ZX] ]]
}

# Sets pm_pid to the postmaster of data_dir when it runs as a primary; fails otherwise.
running_primary() {
  local pid=""
  [[ -e $data_dir/standby.signal ]] && return 1
  { read -r pid < "$data_dir/postmaster.pid"; } 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # A stale postmaster.pid may name a reused pid: only a process working in data_dir is the postmaster.
  [[ /proc/$pid/cwd -ef $data_dir ]] || return 1
  pm_pid=$pid
}

stop_primary() {
  local pid=$1 i kid
  log "fence deadline passed while the postmaster (pid $pid) runs as a primary: SIGQUIT (immediate shutdown)"
  kill -QUIT "$pid" 2>/dev/null
  for ((i = 0; i < 40; i++)); do
    alive "$pid" || { log "postmaster $pid stopped"; return; }
    nap 0.025
  done
  children_of "$pid"
  log "postmaster $pid still alive after 1 s: SIGKILL to it and its children (${kids[*]:-none})"
  kill -KILL -- "-$pid" "$pid" 2>/dev/null
  for kid in "${kids[@]}"; do
    kill -KILL -- "-$kid" "$kid" 2>/dev/null
  done
}

# The agent moves the deadline on every renewal; only changes of kind (armed, disarmed, unreadable) are logged, so the
# log does not grow with every loop_wait.
last=""
while :; do
  line=""
  { read -r line < "$deadline_file"; } 2>/dev/null
  case $line in
    none | exit) kind=$line ;;
    '' | *[!0-9]*) kind="unreadable ('${line:-<missing>}')" ;;
    *) kind=armed ;;
  esac
  if [[ $kind != "$last" ]]; then
    log "deadline file: $kind${line:+ ($line)}"
    last=$kind
  fi
  tripped=0
  case $line in
    none) ;;
    exit)
      log "exit requested"
      [[ $(< "$pid_file") == "$$" ]] 2>/dev/null && rm -f "$pid_file"
      exit 0
      ;;
    '' | *[!0-9]*) tripped=1 ;;
    *)
      uptime_cs
      ((echo_cs >= 10#$line)) && tripped=1
      ;;
  esac
  if ((tripped)) && running_primary; then
    stop_primary "$pm_pid"
  fi
  case $line in
    none) nap 0.2 ;;
    '' | *[!0-9]* | exit) nap "$poll" ;;
    *)
      if ((tripped)); then
        nap "$poll"
      else
        # Sleep until the deadline, but re-read the file at least every 0.1 s (the agent may move or disarm it).
        wait_cs=$((10#$line - echo_cs))
        ((wait_cs > 10)) && wait_cs=10
        printf -v wait_s '0.%02d' "$wait_cs"
        nap "$wait_s"
      fi
      ;;
  esac
done
