#!/usr/bin/env bash
# Capture byte-exact DCS fixtures from a REAL Patroni 3.0.2 cluster running on etcd v3.
#
# Usage:  scripts/capture-patroni-fixtures.sh            (run as root, from anywhere)
# Env:    KEEP_TMP=1   keep the temp dir (logs, data dirs) after the run for debugging
#         OUT_DIR=...  override the fixture output dir
#
# Needs (Debian 12): apt-get install -y postgresql-15 postgresql-client-15 etcd-server etcd-client patroni
# (patroni pulls in python3-etcd, python3-urllib3, python3-psycopg2, ... which its etcd3 backend uses).
#
# What it does: starts one etcd (127.0.0.1:23791/23801) and a 3-node Patroni cluster "batman"
# (namespace /service, PG 127.0.0.1:25441-25443, REST 127.0.0.1:18101-18103) as the unprivileged
# user "pgha" (created if missing), drives it through these states and after each one dumps every key under
# /service/batman/ byte-exact (one file per key, "/" -> "__", plus _meta.json with revisions/lease), the raw
# REST bodies of GET /patroni (every member), /cluster, /config, /history (from the leader) and `patronictl list`:
#   bootstrapped, scheduled-switchover, switchover-flushed, after-switchover, sync-mode, failsafe, paused,
#   resumed, tags
# Finally it replays every etcd revision of the prefix into event-log.json (incl. the shutdown writes).
# Output replaces tests/PgHa.Core.Tests/Fixtures/patroni-3.0.2/etcd3/ only when the whole run succeeded.
# Takes about 105 s.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${OUT_DIR:-$REPO_ROOT/tests/PgHa.Core.Tests/Fixtures/patroni-3.0.2/etcd3}"

RUN_USER=pgha
ETCD_CLIENT_PORT=23791
ETCD_PEER_PORT=23801
ETCD_EP="http://127.0.0.1:${ETCD_CLIENT_PORT}"
PG_PORTS=(25441 25442 25443)
REST_PORTS=(18101 18102 18103)
NODES=(node1 node2 node3)
SCOPE=batman
NAMESPACE=/service
PREFIX="${NAMESPACE}/${SCOPE}/"
PY=/usr/bin/python3            # system python (has patroni's deps), never a pyenv shim
PATRONI=/usr/bin/patroni
PATRONICTL=/usr/bin/patronictl
PG_BIN=/usr/lib/postgresql/15/bin

START_TS=$(date +%s)
log() { printf '[%s +%3ds] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - START_TS ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (needed to create/switch to the '$RUN_USER' user)"
for b in "$PY" "$PATRONI" "$PATRONICTL" "$PG_BIN/postgres" "$PG_BIN/initdb" /usr/bin/etcd /usr/bin/etcdctl /usr/bin/setpriv; do
    [ -x "$b" ] || die "missing $b (apt-get install -y postgresql-15 postgresql-client-15 etcd-server etcd-client patroni)"
done
"$PATRONI" --version | grep -q '^patroni 3\.0\.2$' || die "expected patroni 3.0.2, got: $("$PATRONI" --version)"

for p in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "${PG_PORTS[@]}" "${REST_PORTS[@]}"; do
    if ss -Hltn "sport = :$p" | grep -q .; then die "port $p is already in use"; fi
done

if ! id "$RUN_USER" >/dev/null 2>&1; then
    log "creating system user $RUN_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
fi

TMP=$(mktemp -d /tmp/pgha-patroni-fixtures.XXXXXX)
chmod 755 "$TMP"
STAGE="$TMP/fixtures"
mkdir -p "$STAGE"
declare -A PATRONI_PID=()
ETCD_PID=""
WAIT_PID=""

stop_pid() {  # stop_pid <pid> <name> <timeout-seconds>
    local pid=$1 name=$2 t=$3 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    log "$name (pid $pid) did not stop after ${t}s of SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    log "cleanup (exit code $rc)"
    [ -n "$WAIT_PID" ] && kill "$WAIT_PID" 2>/dev/null
    local n
    for n in "${!PATRONI_PID[@]}"; do stop_pid "${PATRONI_PID[$n]}" "patroni $n" 60; done
    # postgres normally goes down with patroni; kill stragglers by the pid in their own postmaster.pid
    for n in "${NODES[@]}"; do
        local pf="$TMP/$n/data/postmaster.pid"
        if [ -f "$pf" ]; then
            local ppid; ppid=$(head -1 "$pf")
            if [ -n "$ppid" ] && kill -0 "$ppid" 2>/dev/null; then
                log "postgres of $n (pid $ppid) still running, stopping it"
                setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups \
                    "$PG_BIN/pg_ctl" -D "$TMP/$n/data" -m fast -w -t 30 stop >/dev/null 2>&1 || kill -KILL "$ppid" 2>/dev/null
            fi
        fi
    done
    [ -n "$ETCD_PID" ] && stop_pid "$ETCD_PID" etcd 20
    if [ "$rc" != 0 ]; then
        for n in "${NODES[@]}"; do
            [ -f "$TMP/$n/patroni.log" ] && { log "---- last lines of $n/patroni.log ----"; tail -n 25 "$TMP/$n/patroni.log" >&2; }
        done
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    log "total run time $(( $(date +%s) - START_TS ))s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------
# Python helper: byte-exact dumps via the etcd v3 JSON gateway, REST fetches, and wait conditions.
cat > "$TMP/helper.py" <<'PYEOF'
import base64, json, os, sys, time, urllib.request, urllib.error

EP, PREFIX = os.environ['ETCD_EP'], os.environ['PREFIX']
REST = dict(zip(os.environ["HELPER_NODES"].split(), os.environ["HELPER_REST_PORTS"].split()))

def b64(s):
    return base64.b64encode(s.encode()).decode()

def etcd_range():
    """Linearizable range over the whole cluster prefix. Returns (header, [kv dicts with raw bytes])."""
    end = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
    req = urllib.request.Request(EP + '/v3/kv/range', method='POST',
                                 data=json.dumps({'key': b64(PREFIX), 'range_end': b64(end)}).encode())
    with urllib.request.urlopen(req, timeout=5) as r:
        body = json.loads(r.read())
    kvs = []
    for kv in body.get('kvs', []):
        kvs.append({
            'key': base64.b64decode(kv['key']).decode(),
            'value': base64.b64decode(kv.get('value', '')),
            'create_revision': int(kv.get('create_revision', 0)),
            'mod_revision': int(kv.get('mod_revision', 0)),
            'version': int(kv.get('version', 0)),
            'lease': int(kv.get('lease', 0)),
        })
    return body['header'], kvs

def state():
    _, kvs = etcd_range()
    return {kv['key'][len(PREFIX):]: kv['value'] for kv in kvs}

def js(v):
    try:
        return json.loads(v)
    except Exception:
        return None

def http_get(port, path):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%s%s' % (port, path), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:  # health-style endpoints answer 503 with a body
        return e.code, e.read()

def dump(outdir):
    os.makedirs(outdir)
    header, kvs = etcd_range()
    meta = {'prefix': PREFIX, 'revision': int(header['revision']), 'keys': []}
    for kv in kvs:
        rel = kv['key'][len(PREFIX):]
        fname = rel.replace('/', '__')
        with open(os.path.join(outdir, fname), 'wb') as f:
            f.write(kv['value'])          # exactly the stored bytes, no newline added
        meta['keys'].append({'key': kv['key'], 'file': fname,
                             'create_revision': kv['create_revision'], 'mod_revision': kv['mod_revision'],
                             'version': kv['version'], 'lease': kv['lease'], 'has_lease': kv['lease'] != 0})
    leader = kvs and {kv['key'][len(PREFIX):]: kv['value'] for kv in kvs}.get('leader', b'').decode()
    for name, port in REST.items():
        code, body = http_get(port, '/patroni')
        with open(os.path.join(outdir, 'rest-patroni__%s.json' % name), 'wb') as f:
            f.write(body)
        meta.setdefault('rest_status', {})['/patroni@' + name] = code
    lport = REST.get(leader) or list(REST.values())[0]
    for path, fname in (('/cluster', 'rest-cluster.json'), ('/config', 'rest-config.json'),
                        ('/history', 'rest-history.json')):
        code, body = http_get(lport, path)
        with open(os.path.join(outdir, fname), 'wb') as f:
            f.write(body)
        meta.setdefault('rest_status', {})[path] = code
    meta['rest_from'] = leader
    with open(os.path.join(outdir, '_meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print('dumped %d keys at revision %s into %s' % (len(kvs), header['revision'], outdir))

def event_log(outfile, statedir):
    """Replays every revision of the cluster prefix (etcd keeps full history: no compaction) into one file."""
    header, _ = etcd_range()
    last = int(header['revision'])
    end = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
    prev, events = {}, []
    for rev in range(1, last + 1):
        req = urllib.request.Request(EP + '/v3/kv/range', method='POST', data=json.dumps(
            {'key': b64(PREFIX), 'range_end': b64(end), 'revision': str(rev)}).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            body = json.loads(r.read())
        cur = {}
        for kv in body.get('kvs', []):
            key = base64.b64decode(kv['key']).decode()
            cur[key] = kv
            if int(kv.get('mod_revision', 0)) == rev:
                events.append({'revision': rev, 'type': 'put', 'key': key[len(PREFIX):],
                               'value': base64.b64decode(kv.get('value', '')).decode('utf-8'),
                               'create_revision': int(kv.get('create_revision', 0)),
                               'version': int(kv.get('version', 0)), 'has_lease': int(kv.get('lease', 0)) != 0})
        for key in sorted(set(prev) - set(cur)):
            events.append({'revision': rev, 'type': 'delete', 'key': key[len(PREFIX):]})
        prev = cur
    states = {}
    for st in sorted(os.listdir(statedir)):
        mp = os.path.join(statedir, st, '_meta.json')
        if os.path.isfile(mp):
            with open(mp) as f:
                states[st] = json.load(f)['revision']
    with open(outfile, 'w', encoding='utf-8') as f:
        f.write('{"prefix": %s,\n "state_revisions": %s,\n "events": [\n' % (json.dumps(PREFIX), json.dumps(states)))
        f.write(',\n'.join('  ' + json.dumps(e, ensure_ascii=False) for e in events))
        f.write('\n]}\n')
    print('event log: %d events up to revision %d -> %s' % (len(events), last, outfile))

def members(s):
    return {k[len('members/'):]: js(v) or {} for k, v in s.items() if k.startswith('members/')}

def running(m):
    return m.get('state') == 'running' and 'xlog_location' in m

# ---- wait conditions: each returns (ok, description of what is missing) -------------------------------------
def c_leader(s, name):
    return s.get('leader') == name.encode(), 'leader key == %s (now %r)' % (name, s.get('leader'))

def c_healthy(s, leader, *nodes):
    ms = members(s)
    bad = [n for n in nodes if not (n in ms and running(ms[n]) and 'timeline' in ms[n])]
    if s.get('leader') != leader.encode():
        return False, 'leader key == %s (now %r)' % (leader, s.get('leader'))
    if ms.get(leader, {}).get('role') != 'master':
        return False, 'leader %s role master (now %r)' % (leader, ms.get(leader, {}).get('role'))
    reps = [n for n in nodes if n != leader and ms.get(n, {}).get('role') != 'replica']
    if bad or reps:
        return False, 'members running with xlog_location+timeline: missing %s, non-replica %s' % (bad, reps)
    if 'status' not in s or 'initialize' not in s or 'config' not in s:
        return False, 'keys initialize/config/status present (have %s)' % sorted(s)
    # leader must see every replica streaming
    code, body = http_get(REST[leader], '/patroni')
    repl = [r.get('application_name') for r in (js(body) or {}).get('replication', []) if r.get('state') == 'streaming']
    missing = [n for n in nodes if n != leader and n not in repl]
    if missing:
        return False, 'replicas streaming according to leader /patroni: missing %s' % missing
    return True, ''

def c_failover_scheduled(s):
    f = js(s.get('failover', b'null'))
    return bool(f and f.get('scheduled_at')), 'failover key with scheduled_at (now %r)' % s.get('failover')

def c_failover_cleared(s):
    f = s.get('failover')
    return (f is None or js(f) == {}), 'failover key cleared (now %r)' % f

def c_switched(s, leader, *nodes):
    ok, why = c_healthy(s, leader, *nodes)
    if not ok:
        return ok, why
    if 'history' not in s or not js(s['history']):
        return False, 'non-empty history key (now %r)' % s.get('history')
    if 'failover' in s and js(s['failover']) != {}:
        return False, 'failover key cleared (now %r)' % s['failover']
    ms = members(s)
    if any(ms[n].get('timeline') != 2 for n in nodes):
        return False, 'all members on timeline 2 (now %s)' % {n: ms[n].get('timeline') for n in nodes}
    if 'checkpoint_after_promote' in ms[leader]:
        return False, 'checkpoint_after_promote gone from new leader member'
    return True, ''

def c_config(s, key, val):
    c = js(s.get('config', b'{}')) or {}
    return c.get(key) == json.loads(val), 'config.%s == %s (now %r)' % (key, val, c.get(key))

def c_sync(s, leader):
    ok, why = c_config(s, 'synchronous_mode', 'true')
    if not ok:
        return ok, why
    y = js(s.get('sync', b'null')) or {}
    return (y.get('leader') == leader and bool(y.get('sync_standby'))), 'sync key with leader+sync_standby (now %r)' % s.get('sync')

def c_failsafe(s, *nodes):
    f = js(s.get('failsafe', b'null')) or {}
    return sorted(f) == sorted(nodes), 'failsafe key listing %s (now %r)' % (nodes, s.get('failsafe'))

def c_pause(s, flag, *nodes):
    want = flag == 'true'
    ok, why = c_config(s, 'pause', 'true') if want else (('pause' not in (js(s.get('config', b'{}')) or {})), 'config without pause')
    if not ok:
        return ok, why
    ms = members(s)
    bad = [n for n in nodes if bool(ms.get(n, {}).get('pause')) != want]
    return not bad, 'members with pause=%s: missing %s' % (want, bad)

def c_tags(s, spec):
    ms = members(s)
    want = json.loads(spec)
    bad = {n: ms.get(n, {}).get('tags') for n, t in want.items() if ms.get(n, {}).get('tags') != t}
    return not bad, 'member tags %s (now %s)' % (want, bad)

def c_converged(s, *nodes):
    """every member reports the same xlog_location as status.optime (replica member keys lag one HA loop)."""
    opt = (js(s.get('status', b'null')) or {}).get('optime')
    ms = members(s)
    got = {n: ms.get(n, {}).get('xlog_location') for n in nodes}
    return all(v == opt for v in got.values()), 'xlog_location == status.optime %s (now %s)' % (opt, got)

CONDS = {'converged': c_converged, 'leader': c_leader, 'healthy': c_healthy, 'failover_scheduled': c_failover_scheduled,
         'failover_cleared': c_failover_cleared, 'switched': c_switched, 'config': c_config, 'sync': c_sync,
         'failsafe': c_failsafe, 'pause': c_pause, 'tags': c_tags}

def wait(timeout, cond, *args):
    deadline = time.time() + float(timeout)
    why = 'no check yet'
    while time.time() < deadline:
        try:
            ok, why = CONDS[cond](state(), *args)
            if ok:
                return 0
        except Exception as e:  # etcd/REST not up yet
            why = 'exception: %r' % e
        time.sleep(1)
    print('TIMEOUT after %ss waiting for %s %s: %s' % (timeout, cond, ' '.join(args), why), file=sys.stderr)
    return 1

if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'dump':
        dump(sys.argv[2])
    elif cmd == 'wait':
        sys.exit(wait(*sys.argv[2:]))
    elif cmd == 'eventlog':
        event_log(sys.argv[2], sys.argv[3])
    elif cmd == 'get':
        sys.stdout.write(state().get(sys.argv[2], b'').decode())
    else:
        sys.exit('unknown command ' + cmd)
PYEOF
export ETCD_EP PREFIX
export HELPER_NODES="${NODES[*]}" HELPER_REST_PORTS="${REST_PORTS[*]}"
helper() { "$PY" "$TMP/helper.py" "$@"; }
# waits run in the background + `wait`, so a SIGTERM/SIGINT to this script is handled at once
run_wait() { "$PY" "$TMP/helper.py" wait "$@" & WAIT_PID=$!; local rc=0; wait "$WAIT_PID" || rc=$?; WAIT_PID=""; return "$rc"; }
wait_for() {  # wait_for <timeout> <what (for the log)> <cond> [args...]
    local t=$1 what=$2; shift 2
    log "waiting (max ${t}s) for: $what"
    run_wait "$t" "$@" || die "timed out waiting for: $what"
}
wait_soft() {  # like wait_for, but only warns on timeout
    local t=$1 what=$2; shift 2
    log "waiting (max ${t}s) for: $what"
    run_wait "$t" "$@" || log "WARNING: continuing although not reached: $what"
}
ctl() { "$PATRONICTL" -c "$TMP/node1/patroni.yml" "$@"; }

capture() {  # capture <state>
    local st=$1 d="$STAGE/$1"
    log "capturing state '$st'"
    helper dump "$d"
    ctl list "$SCOPE" > "$d/patronictl-list.txt" 2>&1 || die "patronictl list failed for state $st"
}

# ---------------------------------------------------------------------------------------------------------------
log "temp dir $TMP"
mkdir -p "$TMP/etcd"
log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
/usr/bin/etcd --name pgha-fixtures --data-dir "$TMP/etcd/data" \
    --listen-client-urls "$ETCD_EP" --advertise-client-urls "$ETCD_EP" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "pgha-fixtures=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    > "$TMP/etcd/etcd.log" 2>&1 &
ETCD_PID=$!
for ((i = 0; ; i++)); do
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_EP" --dial-timeout=1s endpoint health >/dev/null 2>&1 && break
    kill -0 "$ETCD_PID" 2>/dev/null || { tail -20 "$TMP/etcd/etcd.log" >&2; die "etcd exited"; }
    [ "$i" -lt 150 ] || die "etcd not healthy after 15s"
    sleep 0.1
done
ETCD_VERSION=$("$PY" -c "import urllib.request;print(urllib.request.urlopen('$ETCD_EP/version').read().decode())")
log "etcd healthy: $ETCD_VERSION"

write_cfg() {  # write_cfg <index> <tags-yaml-or-empty>
    local i=$1 tags=$2 n=${NODES[$1]} dir="$TMP/${NODES[$1]}"
    mkdir -p "$dir"
    cat > "$dir/patroni.yml.new" <<EOF
scope: $SCOPE
namespace: $NAMESPACE
name: $n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${REST_PORTS[$i]}
  connect_address: 127.0.0.1:${REST_PORTS[$i]}
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT_PORT
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 10
    retry_timeout: 10
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        fsync: off
        max_connections: 100
  initdb:
  - encoding: UTF8
  - data-checksums
postgresql:
  listen: 127.0.0.1:${PG_PORTS[$i]}
  connect_address: 127.0.0.1:${PG_PORTS[$i]}
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: supersecret
    replication:
      username: replicator
      password: replsecret
  parameters:
    fsync: off
    unix_socket_directories: $dir
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 md5
  - host replication replicator 127.0.0.1/32 md5
watchdog:
  mode: off
$tags
EOF
    mv "$dir/patroni.yml.new" "$dir/patroni.yml"
    chown -R "$RUN_USER:$RUN_USER" "$dir"
}

start_node() {  # start_node <index>
    local n=${NODES[$1]} dir="$TMP/${NODES[$1]}"
    log "starting patroni $n (PG ${PG_PORTS[$1]}, REST ${REST_PORTS[$1]})"
    # setpriv execs directly, so $! is patroni's own pid (runuser/su would put a parent in between)
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$dir" \
        setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups \
        "$PATRONI" "$dir/patroni.yml" > "$dir/patroni.log" 2>&1 &
    PATRONI_PID[$n]=$!
}

for i in 0 1 2; do write_cfg "$i" ""; done

# ---- a. bootstrapped ------------------------------------------------------------------------------------------
start_node 0
wait_for 90 "node1 bootstraps and takes the leader key" leader node1
start_node 1
start_node 2
wait_for 180 "leader node1 + streaming replicas node2,node3" healthy node1 node1 node2 node3
wait_soft 45 "member xlog_locations converged to status.optime" converged node1 node2 node3
capture bootstrapped

# ---- b. scheduled-switchover ----------------------------------------------------------------------------------
SCHED=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
log "scheduling switchover node1 -> node2 at $SCHED"
ctl switchover "$SCOPE" --leader node1 --candidate node2 --scheduled "$SCHED" --force > "$TMP/switchover-scheduled.out" 2>&1 \
    || { cat "$TMP/switchover-scheduled.out" >&2; die "scheduled switchover failed"; }
wait_for 30 "failover key with scheduled_at" failover_scheduled
sleep 2
capture scheduled-switchover

# ---- b2. flushed (scheduled switchover discarded) -------------------------------------------------------------
log "flushing the scheduled switchover"
ctl flush "$SCOPE" switchover --force > "$TMP/flush.out" 2>&1 || { cat "$TMP/flush.out" >&2; die "flush failed"; }
cat "$TMP/flush.out" >&2
wait_for 30 "failover key cleared" failover_cleared
capture switchover-flushed

# ---- c. after-switchover --------------------------------------------------------------------------------------
log "immediate switchover node1 -> node2"
ctl switchover "$SCOPE" --leader node1 --candidate node2 --force > "$TMP/switchover.out" 2>&1 \
    || { cat "$TMP/switchover.out" >&2; die "switchover failed"; }
grep -a 'Successfully switched over' "$TMP/switchover.out" >&2 || { cat "$TMP/switchover.out" >&2; die "switchover did not succeed"; }
wait_for 180 "node2 leader on timeline 2, node1/node3 streaming from it, history written" switched node2 node1 node2 node3
wait_soft 45 "member xlog_locations converged to status.optime" converged node1 node2 node3
capture after-switchover

# ---- d. sync-mode ---------------------------------------------------------------------------------------------
log "enabling synchronous_mode"
ctl edit-config "$SCOPE" -s synchronous_mode=true --force > "$TMP/edit-sync.out" 2>&1 || { cat "$TMP/edit-sync.out" >&2; die "edit-config failed"; }
wait_for 60 "sync key with a sync_standby" sync node2
sleep 12   # one more HA loop so members/status settle
capture sync-mode

# ---- e. failsafe ----------------------------------------------------------------------------------------------
log "enabling failsafe_mode"
ctl edit-config "$SCOPE" -s failsafe_mode=true --force > "$TMP/edit-failsafe.out" 2>&1 || { cat "$TMP/edit-failsafe.out" >&2; die "edit-config failed"; }
wait_for 60 "failsafe key listing all members" failsafe node1 node2 node3
sleep 2
capture failsafe

# ---- f. paused ------------------------------------------------------------------------------------------------
log "pausing"
ctl pause "$SCOPE" --wait > "$TMP/pause.out" 2>&1 || { cat "$TMP/pause.out" >&2; die "pause failed"; }
cat "$TMP/pause.out" >&2
wait_for 60 "config.pause=true and all members pause=true" pause true node1 node2 node3
sleep 2
capture paused

# ---- g. resumed -----------------------------------------------------------------------------------------------
log "resuming"
ctl resume "$SCOPE" --wait > "$TMP/resume.out" 2>&1 || { cat "$TMP/resume.out" >&2; die "resume failed"; }
cat "$TMP/resume.out" >&2
wait_for 60 "no pause in config nor members" pause false node1 node2 node3
sleep 2
capture resumed

# ---- h. tags --------------------------------------------------------------------------------------------------
log "giving node1 tags {nofailover: false, clonefrom: true, custom_tag: x} and node3 {nofailover: true}; SIGHUP"
write_cfg 0 $'tags:\n  nofailover: false\n  clonefrom: true\n  custom_tag: x'
write_cfg 2 $'tags:\n  nofailover: true'
kill -HUP "${PATRONI_PID[node1]}" "${PATRONI_PID[node3]}"
wait_for 60 "member tags applied" tags '{"node1": {"clonefrom": true, "custom_tag": "x"}, "node2": null, "node3": {"nofailover": true}}'
sleep 2
capture tags

# ---- stop, publish ----------------------------------------------------------------------------------------------
{
    echo "patroni: $("$PATRONI" --version)"
    echo "postgres: $("$PG_BIN/postgres" --version)"
    echo "etcd: $ETCD_VERSION"
    echo "captured_at_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$STAGE/versions.txt"

log "stopping patroni nodes (SIGTERM, replicas first)"
for n in node3 node1 node2; do stop_pid "${PATRONI_PID[$n]}" "patroni $n" 60; unset "PATRONI_PID[$n]"; done
helper eventlog "$STAGE/event-log.json" "$STAGE"   # includes what patroni wrote/deleted while shutting down
stop_pid "$ETCD_PID" etcd 20; ETCD_PID=""

rm -rf "$OUT_DIR"
mkdir -p "$(dirname "$OUT_DIR")"
cp -r "$STAGE" "$OUT_DIR"
log "fixtures written to $OUT_DIR: $(find "$OUT_DIR" -type f | wc -l) files"
log "run time $(( $(date +%s) - START_TS ))s"
