#!/usr/bin/python3
"""Measurement helper for bench/run (run with the system python3, which has psycopg2).

Subcommands (all loops are bounded; every result is one JSON object on stdout):
  wait-healthy T0 TIMEOUT NODES        time from T0 (epoch seconds) until one running master whose
                                       pg_stat_replication shows the two other members 'streaming' and two running
                                       replicas (GET /patroni of every node).
  etcd-metrics URL                     the etcd counters used for the request rate (see docs/benchmarks.md).
  rss NODES                            RSS/PSS of each agent (plus its non-postgres descendants) and of PgHa fencers.
  cpu NODES                            CPU clock ticks (utime+stime+cutime+cstime from /proc/PID/stat) of each agent.
  rest-load SECONDS NODES              wrk --latency against the leader's GET /primary: requests/s, p50/p99.
  failover MODE TIMEOUT NODES [sync]   MODE = node-death | postmaster-crash: writer every 20 ms through a multi-host
                                       libpq connection, kill -9, time to the first acknowledged write afterwards and
                                       the acknowledged writes the new primary does not have; with `sync`, waits for a
                                       synchronous standby first.
  dcs-outage TIMEOUT NODES ETCD_PID S  writer every 20 ms; SIGSTOP etcd for S seconds, SIGCONT; write gap, when the
                                       primary stopped acknowledging writes, SIGCONT -> first write.
  switchover TIMEOUT NODES CTL_CONFIG VIA [PGHA]
                                       VIA = patronictl | pghactl | rest: writer every 10 ms; after 1 s of writes a
                                       switchover to the first replica by name (`patronictl ... switchover --force`,
                                       `PGHA ctl ... switchover --force` or POST /switchover to the leader); the
                                       command's runtime and the longest gap between acknowledged writes around it.
  summarize SYSTEM DIR LOAD PROFILE TTL LOOP_WAIT RETRY_TIMEOUT IDLE_S
                                       one run's JSON pieces -> one result line.
  report RESULTS_JSONL LOAD_TEXT       print one comparison table per profile.

NODES is a JSON list of {name, rest, pg, pid, data} (pid = the agent's pid).
"""
import concurrent.futures
import json
import os
import signal
import statistics
import sys
import time
import urllib.request

import psycopg2

PASSWORD = 'postgres-secret'


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def rest(node, timeout=2.0):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%s/patroni' % node['rest'], timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # health answers 503 with the same body
        try:
            return json.loads(e.read())
        except Exception:
            return None
    except Exception:
        return None


def pg_connect(port, timeout=2, dbname='postgres'):
    return psycopg2.connect(host='127.0.0.1', port=port, user='postgres', password=PASSWORD, dbname=dbname,
                            connect_timeout=timeout, options='-c statement_timeout=2000')


POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4)


def healthy(nodes):
    """(ok, leader-node-or-None, why). The nodes' REST APIs are asked in parallel (2 s timeout each)."""
    docs = dict(zip([n['name'] for n in nodes], POOL.map(rest, nodes)))
    masters = [n for n in nodes if (docs[n['name']] or {}).get('role') in ('master', 'primary')
               and (docs[n['name']] or {}).get('state') == 'running']
    replicas = [n for n in nodes if (docs[n['name']] or {}).get('role') == 'replica'
                and (docs[n['name']] or {}).get('state') == 'running']
    if len(masters) != 1 or len(replicas) != len(nodes) - 1:
        return False, None, 'roles %s' % {k: (v or {}).get('role', '-') + '/' + (v or {}).get('state', '-')
                                          for k, v in docs.items()}
    leader = masters[0]
    try:
        conn = pg_connect(leader['pg'], timeout=2)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("select application_name from pg_stat_replication where state = 'streaming'")
            streaming = {r[0] for r in cur.fetchall()}
            cur.execute('select pg_is_in_recovery()')
            in_recovery = cur.fetchone()[0]
        finally:
            conn.close()
    except Exception as e:
        return False, leader, 'leader query failed: %s' % str(e).strip().splitlines()[0]
    want = {r['name'] for r in replicas}
    if in_recovery or not want <= streaming:
        return False, leader, 'streaming %s, want %s' % (sorted(streaming), sorted(want))
    return True, leader, 'ok'


def cmd_wait_healthy(t0, timeout, nodes):
    t0, timeout = float(t0), float(timeout)
    why = 'not polled'
    polls = 0
    while time.time() - t0 < timeout:
        polls += 1
        ok, leader, why = healthy(nodes)
        if ok:
            emit({'ok': True, 'seconds': round(time.time() - t0, 3), 'leader': leader['name'], 'polls': polls})
            return
        time.sleep(0.1)
    emit({'ok': False, 'seconds': None, 'why': why})


METRIC_PREFIXES = ('grpc_server_msg_received_total', 'grpc_server_started_total', 'grpc_server_handled_total',
                   'etcd_debugging_mvcc_range_total', 'etcd_debugging_mvcc_txn_total', 'etcd_debugging_mvcc_put_total',
                   'etcd_debugging_mvcc_delete_total', 'etcd_debugging_mvcc_watcher_total',
                   'etcd_debugging_lease_renewed_total')


def cmd_etcd_metrics(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith('#') or not line.startswith(METRIC_PREFIXES):
            continue
        key, _, val = line.rpartition(' ')
        out[key] = float(val)
    emit({'t': time.time(), 'counters': out})


def proc_status(pid):
    d = {}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                k, _, v = line.partition(':')
                d[k] = v.strip()
    except OSError:
        return None
    return d


def kib(pid, field):
    """VmRSS from status, Pss from smaps_rollup (KiB)."""
    if field == 'Pss':
        try:
            with open('/proc/%d/smaps_rollup' % pid) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        return int(line.split()[1])
        except OSError:
            return 0
        return 0
    st = proc_status(pid) or {}
    return int(st.get('VmRSS', '0 kB').split()[0])


def children(pid):
    kids = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return '?'


def agent_tree(pid):
    """The agent and its descendants that are not PostgreSQL processes."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p != pid and comm(p) in ('postgres', 'postmaster'):
            continue
        out.append(p)
        todo += children(p)
    return out


def fencer_pid(node):
    try:
        with open(node['data'].rstrip('/') + '.pgha/fencer.pid') as f:
            pid = int(f.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            args = f.read().split(b'\0')
        if any(a.endswith(b'pgha-fencer.sh') for a in args) and node['data'].encode() in args:
            return pid
    except (OSError, ValueError):
        pass
    return None


def cmd_rss(nodes):
    res = []
    for n in nodes:
        tree = agent_tree(n['pid'])
        fp = fencer_pid(n)
        res.append({'name': n['name'], 'agent_pids': tree, 'agent_comm': [comm(p) for p in tree],
                    'agent_rss_kib': sum(kib(p, 'VmRSS') for p in tree),
                    'agent_pss_kib': sum(kib(p, 'Pss') for p in tree),
                    'fencer_pid': fp, 'fencer_rss_kib': kib(fp, 'VmRSS') if fp else 0,
                    'fencer_pss_kib': kib(fp, 'Pss') if fp else 0})
    emit({'nodes': res})


def postmaster_pid(node):
    with open(os.path.join(node['data'], 'postmaster.pid')) as f:
        return int(f.readline().strip())


def writer_dsn(nodes):
    return ('host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s user=postgres password=%s dbname=postgres '
            'connect_timeout=2 target_session_attrs=read-write options=\'-c statement_timeout=2000\''
            % (','.join(str(n['pg']) for n in nodes), PASSWORD))


def wait_healthy_before(nodes, what, sync=False, tries=100):
    """(leader, None) once the cluster is whole (and, with sync, the leader has a synchronous standby)."""
    ok, leader, why = False, None, ''
    for _ in range(tries):  # ~10 s (sync: up to 30 s for the sync standby)
        ok, leader, why = healthy(nodes)
        if ok and sync:
            ok, why = sync_standby(leader, nodes)
        if ok:
            return leader, None
        time.sleep(0.1)
    return None, 'cluster not healthy before the %s: %s' % (what, why)


def sync_standby(leader, nodes):
    try:
        conn = pg_connect(leader['pg'])
        try:
            cur = conn.cursor()
            cur.execute("select application_name, sync_state from pg_stat_replication")
            rows = cur.fetchall()
            cur.execute("show synchronous_standby_names")
            ssn = cur.fetchone()[0]
        finally:
            conn.close()
    except Exception as e:
        return False, 'sync check failed: %s' % str(e).strip().splitlines()[0]
    if not any(st in ('sync', 'quorum') for _, st in rows):
        return False, 'no synchronous standby yet (synchronous_standby_names=%r, %s)' % (ssn, rows)
    # PostgreSQL waits for the standby, but only a member named in the DCS sync key may be promoted: GET /sync on the
    # standbys answers 200 only for those (both systems read the sync key for it)
    named = [n['name'] for n in nodes if n['name'] != leader['name'] and rest_status(n, '/sync') == 200]
    if not named:
        return False, 'pg_stat_replication has a sync standby (%s) but no member answers 200 on GET /sync yet' % rows
    return True, 'ok'


def rest_status(node, path, timeout=2.0):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%s%s' % (node['rest'], path), timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return None


def create_acked_table(leader):
    conn = pg_connect(leader['pg'])
    conn.autocommit = True
    conn.cursor().execute('create table if not exists bench_acked (run text not null, n bigint not null, '
                          'at timestamptz not null default clock_timestamp(), primary key (run, n))')
    conn.close()


def count_lost(nodes, token, acked):
    """Acknowledged writes of this writer that the current primary does not have (None if it cannot be asked
    within 10 s: right after a promotion the primary may still be settling)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            conn = psycopg2.connect(writer_dsn(nodes))
            try:
                cur = conn.cursor()
                cur.execute('select n from bench_acked where run = %s', (token,))
                present = {r[0] for r in cur.fetchall()}
            finally:
                conn.close()
            return len(set(acked) - present)
        except Exception:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)


def cmd_failover(mode, timeout, nodes, sync=''):
    timeout = float(timeout)
    t_wait = time.monotonic()
    leader, err = wait_healthy_before(nodes, 'fault', sync == 'sync', 300 if sync else 100)
    waited = round(time.monotonic() - t_wait, 3)
    if err:
        emit({'ok': False, 'seconds': None, 'why': err})
        return
    create_acked_table(leader)
    token = '%s-%d' % (mode, os.getpid())
    dsn = writer_dsn(nodes)
    others = {str(n['pg']) for n in nodes if n['name'] != leader['name']}
    conn = None
    t_kill = None
    last_ok_before = None
    steady = 0
    attempts_after = failures_after = 0
    start = time.monotonic()
    next_tick = start
    killed = []
    result = None
    acked = []
    i = 0
    while time.monotonic() - start < timeout:
        t_try = time.monotonic()
        port = None
        success = False
        i += 1
        try:
            if conn is None:
                conn = psycopg2.connect(dsn)
                conn.autocommit = True
            port = str(conn.info.port)
            conn.cursor().execute('insert into bench_acked (run, n) values (%s, %s)', (token, i))
            success = True
            acked.append(i)
        except Exception:
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
        t_done = time.monotonic()
        if t_kill is None:
            if success:
                steady += 1
                last_ok_before = t_done
            if steady >= 50:  # one second of acknowledged writes, then the fault
                pm = postmaster_pid(leader)
                if mode == 'node-death':
                    os.kill(leader['pid'], signal.SIGKILL)
                    killed.append(('agent', leader['pid']))
                os.kill(pm, signal.SIGKILL)
                killed.append(('postmaster', pm))
                t_kill = time.monotonic()
                if conn is not None:  # the next write must come through a new connection
                    conn.close()
                    conn = None
        else:
            attempts_after += 1
            if not success:
                failures_after += 1
            elif t_try >= t_kill and (mode == 'postmaster-crash' or port in others):
                taker = [n['name'] for n in nodes if str(n['pg']) == port][0]
                result = {'ok': True, 'seconds': round(t_done - t_kill, 3),
                          'gap_seconds': round(t_done - last_ok_before, 3), 'old_leader': leader['name'],
                          'writes_went_to': taker, 'attempts_after_kill': attempts_after,
                          'failed_attempts_after_kill': failures_after, 'killed': killed}
                break
        next_tick += 0.02
        pause = next_tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_tick = time.monotonic()
    if conn is not None:
        conn.close()
    if result is None:
        result = {'ok': False, 'seconds': None, 'old_leader': leader['name'], 'killed': killed,
                  'why': 'no acknowledged write within %ss of the kill' % timeout if t_kill else 'writer never steady'}
    else:
        # every write this writer saw acknowledged, looked up on the primary that now takes writes
        result['acked_writes'] = len(acked)
        result['lost_acked_writes'] = count_lost(nodes, token, acked)
    result['synchronous_mode'] = sync == 'sync'
    result['waited_for_healthy_s'] = waited
    emit(result)


def cmd_dcs_outage(timeout, nodes, etcd_pid, stop_s):
    """Writer every 20 ms; after 1 s of writes SIGSTOP etcd for stop_s, then SIGCONT; until writes are back + 1 s."""
    timeout, etcd_pid, stop_s = float(timeout), int(etcd_pid), float(stop_s)
    leader, err = wait_healthy_before(nodes, 'DCS outage')
    if err:
        emit({'ok': False, 'why': err})
        return
    create_acked_table(leader)
    token = 'dcs-outage-%d' % os.getpid()
    dsn = writer_dsn(nodes)
    conn = None
    acks = []  # (monotonic completion, port)
    fails = []  # monotonic completion of failed attempts
    t_stop = t_cont = cont_epoch = None
    acked_n = []
    whole = {}  # 't': when the cluster was whole again after SIGCONT (polled every 100 ms by a thread)

    def poll_whole():
        while time.monotonic() - t_cont < timeout and 't' not in whole:
            ok, _, why = healthy(nodes)
            if ok:
                whole['t'] = time.monotonic()
                return
            whole['why'] = why
            time.sleep(0.1)

    import threading
    poller = None
    start = time.monotonic()
    next_tick = start
    i = 0
    try:
        while True:
            now = time.monotonic()
            if t_cont is not None and now - t_cont > timeout:
                break
            if t_stop is None and len(acks) >= 50:
                os.kill(etcd_pid, signal.SIGSTOP)
                t_stop = time.monotonic()
            if t_stop is None and now - start > 20:
                break
            if t_stop is not None and t_cont is None and now - t_stop >= stop_s:
                os.kill(etcd_pid, signal.SIGCONT)
                t_cont = time.monotonic()
                cont_epoch = time.time()
                poller = threading.Thread(target=poll_whole, daemon=True)
                poller.start()
            if t_cont is not None:
                after = [t for t, _ in acks if t >= t_cont]
                if after and time.monotonic() >= after[0] + 1.0 and 't' in whole:
                    break
            i += 1
            try:
                if conn is None:
                    conn = psycopg2.connect(dsn)
                    conn.autocommit = True
                port = str(conn.info.port)
                conn.cursor().execute('insert into bench_acked (run, n) values (%s, %s)', (token, i))
                acks.append((time.monotonic(), port))
                acked_n.append(i)
            except Exception:
                fails.append(time.monotonic())
                try:
                    if conn is not None:
                        conn.close()
                except Exception:
                    pass
                conn = None
            next_tick += 0.02
            pause = next_tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_tick = time.monotonic()
    finally:
        if t_stop is not None and t_cont is None:
            os.kill(etcd_pid, signal.SIGCONT)
            t_cont = time.monotonic()
            cont_epoch = time.time()
        if conn is not None:
            conn.close()
    if t_stop is None:
        emit({'ok': False, 'why': 'writer never steady (%d acks in 20 s)' % len(acks)})
        return
    port_name = {str(n['pg']): n['name'] for n in nodes}
    during = [t for t, _ in acks if t_stop <= t < t_cont]
    fails_during = [t for t in fails if t_stop <= t < t_cont]
    last_ack_during = during[-1] if during else t_stop
    # the primary stopped accepting writes if an attempt failed after its last acknowledged write of the outage
    stopped = any(t > last_ack_during for t in fails_during)
    after = [(t, p) for t, p in acks if t >= t_cont]
    times = [t for t, _ in acks if t >= t_stop - 0.5]
    gaps = [b - a for a, b in zip(times, times[1:])]
    emit({'ok': bool(after), 'stop_s': stop_s, 'old_leader': leader['name'],
          'stopped_accepting_writes': stopped,
          'stop_accepting_s': round(last_ack_during - t_stop, 3) if stopped else None,
          'acks_during_outage': len(during), 'failed_attempts_during_outage': len(fails_during),
          'max_gap_s': round(max(gaps), 3) if gaps and after else None,
          'heal_first_write_s': round(after[0][0] - t_cont, 3) if after else None,
          'writes_after_on': port_name.get(after[0][1]) if after else None,
          'heal_whole_s': round(whole['t'] - t_cont, 3) if 't' in whole else None,
          'acked_writes': len(acked_n), 'lost_acked_writes': count_lost(nodes, token, acked_n) if after else None,
          'not_whole_why': None if 't' in whole else whole.get('why'),
          'cont_epoch': cont_epoch})


def cpu_ticks(pid):
    """utime + stime + cutime + cstime of pid (clock ticks), from /proc/PID/stat."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rpartition(')')[2].split()
    except OSError:
        return None
    # after the comm field: state is fields[0], utime is field 14 of stat = fields[11]
    return sum(int(x) for x in fields[11:15])


def cmd_cpu(nodes):
    """CPU ticks of every agent (the agent, its reaped children, its living non-PostgreSQL descendants)."""
    res = []
    for n in nodes:
        tree = agent_tree(n['pid'])
        own = cpu_ticks(n['pid'])
        kids = sum((cpu_ticks(p) or 0) for p in tree if p != n['pid'])
        fp = fencer_pid(n)
        res.append({'name': n['name'], 'pid': n['pid'], 'agent_ticks': (own or 0) + kids, 'own_ticks': own,
                    'fencer_pid': fp, 'fencer_ticks': cpu_ticks(fp) if fp else None})
    emit({'t': time.monotonic(), 'clk_tck': os.sysconf('SC_CLK_TCK'), 'nodes': res})


def parse_duration_ms(text):
    for unit, f in (('us', 0.001), ('ms', 1.0), ('s', 1000.0), ('m', 60000.0)):
        if text.endswith(unit):
            return round(float(text[:-len(unit)]) * f, 3)
    return float(text)


def cmd_rest_load(seconds, nodes):
    """wrk (Debian) against the leader's GET /primary: requests/s and latency percentiles."""
    import subprocess
    leader, err = wait_healthy_before(nodes, 'REST load')
    if err:
        emit({'ok': False, 'why': err})
        return
    url = 'http://127.0.0.1:%s/primary' % leader['rest']
    cmd = ['wrk', '-t2', '-c16', '-d%ss' % seconds, '--timeout', '2s', '--latency', url]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=float(seconds) + 30)
    out = {'ok': False, 'command': ' '.join(cmd), 'leader': leader['name']}
    pct = {}
    in_dist = False
    for line in run.stdout.splitlines():
        t = line.split()
        if line.strip().startswith('Latency Distribution'):
            in_dist = True
            continue
        if in_dist and len(t) == 2 and t[0].endswith('%'):
            pct[t[0]] = parse_duration_ms(t[1])
            continue
        in_dist = False
        if line.startswith('Requests/sec:'):
            out['rps'] = float(t[1])
        elif 'requests in' in line:
            out['requests'] = int(t[0])
        elif line.strip().startswith('Non-2xx or 3xx responses:'):
            out['non_2xx'] = int(t[-1])
        elif line.strip().startswith('Socket errors:'):
            out['socket_errors'] = line.strip()
    out['latency_ms'] = pct
    out['p99_ms'] = pct.get('99%')
    out['p50_ms'] = pct.get('50%')
    out['ok'] = run.returncode == 0 and 'rps' in out and out['p99_ms'] is not None and not out.get('non_2xx')
    if not out['ok']:
        out['stdout'] = run.stdout[-800:]
        out['stderr'] = run.stderr[-400:]
    emit(out)


PATRONICTL = '/usr/bin/patronictl'


def cmd_switchover(timeout, nodes, ctl_config, via='patronictl', pgha=None):
    import subprocess
    import threading
    timeout = float(timeout)
    leader, err = wait_healthy_before(nodes, 'switchover')
    if err:
        emit({'ok': False, 'why': err})
        return
    candidate = sorted(n['name'] for n in nodes if n['name'] != leader['name'])[0]
    cand_port = str([n['pg'] for n in nodes if n['name'] == candidate][0])
    conn = pg_connect(leader['pg'])
    conn.autocommit = True
    conn.cursor().execute('create table if not exists bench_writes (id bigserial primary key, '
                          'at timestamptz not null default clock_timestamp(), note text)')
    conn.close()
    dsn = writer_dsn(nodes)
    acks = []  # (monotonic completion time, port)
    stop = threading.Event()
    failures = [0]

    def writer():
        c = None
        next_tick = time.monotonic()
        while not stop.is_set():
            try:
                if c is None:
                    c = psycopg2.connect(dsn)
                    c.autocommit = True
                port = str(c.info.port)
                c.cursor().execute('insert into bench_writes (note) values (%s)', ('switchover',))
                acks.append((time.monotonic(), port))
            except Exception:
                failures[0] += 1
                try:
                    if c is not None:
                        c.close()
                except Exception:
                    pass
                c = None
            next_tick += 0.01
            pause = next_tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_tick = time.monotonic()
        if c is not None:
            c.close()

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    start = time.monotonic()
    while len(acks) < 100 and time.monotonic() - start < 10:  # one second of acknowledged writes first
        time.sleep(0.01)
    if len(acks) < 100:
        stop.set()
        th.join(5)
        emit({'ok': False, 'why': 'writer never steady (%d acks in 10 s)' % len(acks)})
        return
    env = dict(os.environ, LANG='C.UTF-8', LC_ALL='C.UTF-8')
    ctl = [PATRONICTL] if via == 'patronictl' else [pgha, 'ctl']
    # the CLI's fixed cost (start-up, one DCS read, a table): `list` just before, for reference
    t_list = time.monotonic()
    if via != 'rest':
        subprocess.run(ctl + ['-c', ctl_config, 'list'], capture_output=True, text=True, env=env, timeout=timeout)
    list_s = time.monotonic() - t_list if via != 'rest' else None
    t_cmd = time.monotonic()
    if via == 'rest':
        # what patronictl sends, without python's start-up: POST /switchover to the leader, wait for the answer
        body = json.dumps({'leader': leader['name'], 'candidate': candidate}).encode()
        req = urllib.request.Request('http://127.0.0.1:%s/switchover' % leader['rest'], data=body, method='POST',
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                run = subprocess.CompletedProcess([], 0, r.read().decode(), '')
        except urllib.error.HTTPError as e:
            run = subprocess.CompletedProcess([], e.code, e.read().decode(), '')
    else:
        run = subprocess.run(ctl + ['-c', ctl_config, 'switchover', '--leader', leader['name'],
                              '--candidate', candidate, '--force'], capture_output=True, text=True, env=env,
                             timeout=timeout)
    t_cmd_end = time.monotonic()
    first_on_candidate = None
    while time.monotonic() - t_cmd < timeout:
        on_cand = [t for t, p in list(acks) if p == cand_port and t >= t_cmd]
        if on_cand:
            first_on_candidate = on_cand[0]
            if time.monotonic() >= max(first_on_candidate, t_cmd_end) + 1.0:
                break
        time.sleep(0.05)
    stop.set()
    th.join(5)
    times = [t for t, _ in acks if t >= t_cmd - 0.5]
    gaps = [(b - a, a) for a, b in zip(times, times[1:])]
    max_gap, gap_at = max(gaps) if gaps else (None, None)
    out = run.stdout.strip().splitlines()
    emit({'ok': run.returncode in (0, 200) and first_on_candidate is not None and 'Successfully' in run.stdout,
          'via': via, 'command_s': round(t_cmd_end - t_cmd, 3),
          'ctl_list_s': round(list_s, 3) if list_s is not None else None,
          'max_gap_s': round(max_gap, 3) if max_gap is not None else None,
          'gap_started_after_command_s': round(gap_at - t_cmd, 3) if gap_at is not None else None,
          'first_write_on_candidate_s': round(first_on_candidate - t_cmd, 3) if first_on_candidate else None,
          'old_leader': leader['name'], 'candidate': candidate, 'acks': len(acks), 'failed_attempts': failures[0],
          'command_rc': run.returncode, 'command_output': out[0] if out else '',
          'command_stderr': run.stderr.strip().splitlines()[-3:]})


# ---- report ----------------------------------------------------------------------------------------------------
# key, label, unit, PgHa target ({ttl} is the profile's ttl), True when higher is better
METRICS = [
    ('bootstrap_s', 'bootstrap: start of 3 agents -> leader + 2 streaming replicas', 's', '<= 6 s', False),
    ('node_death_s', 'node death (kill -9 agent+postmaster of the leader): kill -> first write on another node', 's',
     '<= ttl + 0.3 s', False),
    ('node_death_lost', 'node death: acknowledged writes lost (asynchronous replication)', 'writes', '(info)', False),
    ('pm_crash_s', 'postmaster crash (kill -9 of the leader\'s postmaster): kill -> first write', 's', '<= 1.5 s', False),
    ('sw_patronictl_gap_s', 'switchover via patronictl switchover --force: max gap between acknowledged writes', 's',
     '<= 0.4 s', False),
    ('sw_patronictl_cmd_s', 'switchover via patronictl switchover --force: command runtime', 's', '<= 1 s', False),
    ('patronictl_list_s', '(reference) patronictl list runtime just before', 's', '(info)', False),
    ('sw_pghactl_gap_s', 'switchover via pgha ctl switchover --force: max gap between acknowledged writes', 's',
     '<= 0.4 s', False),
    ('sw_pghactl_cmd_s', 'switchover via pgha ctl switchover --force: command runtime', 's', '<= 1 s', False),
    ('pghactl_list_s', '(reference) pgha ctl list runtime just before', 's', '(info)', False),
    ('sw_rest_gap_s', 'switchover via POST /switchover: max gap between acknowledged writes', 's', '<= 0.4 s', False),
    ('sw_rest_cmd_s', 'switchover via POST /switchover: request -> answer', 's', '(info)', False),
    ('dcs_gap_s', 'DCS outage (SIGSTOP etcd for ttl + 5 s): max gap between acknowledged writes', 's', '(info)', False),
    ('dcs_stop_s', 'DCS outage: SIGSTOP -> last write the primary acknowledged', 's', '(info)', False),
    ('dcs_heal_write_s', 'DCS outage: SIGCONT -> first acknowledged write', 's', '(info)', False),
    ('dcs_heal_whole_s', 'DCS outage: SIGCONT -> leader + 2 streaming replicas', 's', '(info)', False),
    ('dcs_lost', 'DCS outage: acknowledged writes lost', 'writes', '0', False),
    ('rss_agent_mib', 'idle RSS per agent (mean of 3 agents)', 'MiB', '<= 30 MiB', False),
    ('pss_agent_mib', 'idle PSS per agent (mean of 3 agents)', 'MiB', '(info)', False),
    ('rss_agent_fencer_mib', 'idle RSS per agent incl. fencer ((3 agents + all fencers) / 3)', 'MiB', '<= 30 MiB',
     False),
    ('cpu_agent_s', 'idle CPU per agent (utime+stime from /proc/PID/stat, mean of 3)', 's/min', '(info)', False),
    ('cpu_agent_fencer_s', 'idle CPU per agent incl. fencer ((3 agents + all fencers) / 3)', 's/min', '(info)', False),
    ('etcd_rps', 'etcd requests/s while idle (gRPC messages received, all clients)', '/s', "<= Patroni's", False),
    ('etcd_mvcc_ops', 'etcd MVCC ops/s while idle (range + txn + put + delete)', '/s', '(info)', False),
    ('rest_rps', 'REST GET /primary on the leader under wrk -t2 -c16: throughput', 'req/s', '(info)', True),
    ('rest_p99_ms', 'REST GET /primary under wrk -t2 -c16: p99 latency', 'ms', '(info)', False),
    ('sync_node_death_s', 'synchronous_mode, node death: kill -> first write on another node', 's', '<= ttl + 0.3 s',
     False),
    ('sync_gap_s', 'synchronous_mode, node death: max gap between acknowledged writes', 's', '(info)', False),
    ('sync_lost', 'synchronous_mode, node death: acknowledged writes lost', 'writes', '0', False),
]


def fmt(v):
    if v is None:
        return 'FAIL'
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return '%d' % v
    if abs(v) >= 100:
        return '%.0f' % v
    if abs(v) >= 10:
        return '%.1f' % v
    return '%.2f' % v


def cell(vals):
    """(text, median or None). None values are failures; strings are outcomes without a number."""
    if not vals:
        return '-', None
    nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    texts = [v for v in vals if isinstance(v, str)]
    fails = sum(1 for v in vals if v is None)
    if len(vals) == 1:
        return fmt(vals[0]), nums[0] if nums else None
    med = statistics.median(nums) if nums else None
    out = '%s / %s / %s' % (fmt(min(nums)), fmt(med), fmt(max(nums))) if nums else ''
    extra = []
    if fails:
        extra.append('%d FAIL' % fails)
    for t in sorted(set(texts)):
        extra.append('%d %s' % (texts.count(t), t))
    if extra:
        out = (out + ' ' if out else '') + '(' + ', '.join(extra) + ')'
    return out, med


def cmd_report(path, load_text):
    results = []
    with open(path) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    profiles = []
    for r in results:
        if r['profile'] not in profiles:
            profiles.append(r['profile'])
    etcd = (results[0].get('etcd_version') if results else None) or '?'
    for prof in profiles:
        rs = [r for r in results if r['profile'] == prof]
        runs = {'patroni': [r for r in rs if r['system'] == 'patroni'], 'pgha': [r for r in rs if r['system'] == 'pgha']}
        p0 = rs[0]
        n = max(len(runs['patroni']), len(runs['pgha']))
        print()
        print('== profile %s: ttl=%s loop_wait=%s retry_timeout=%s; 3 nodes, PostgreSQL 15, etcd %s, Patroni 3.0.2 vs PgHa'
              % (prof, p0['ttl'], p0['loop_wait'], p0['retry_timeout'], etcd))
        print('runs per system: %d%s; idle window %s s' % (
            n, '   (cells: min / median / max; ratio of the medians)' if n > 1 else '', p0.get('idle_seconds')))
        print('ratio = Patroni / PgHa; "PgHa better" follows each metric\'s direction (only requests/s: higher is better)')
        if not runs['patroni']:
            print('(PgHa alone in this profile: Patroni not run)')
        print()
        rows = [('metric', 'Patroni', 'PgHa', 'ratio Patroni/PgHa', 'PgHa target')]
        for key, label, unit, target, higher in METRICS:
            if not any(key in r['metrics'] for r in rs):
                continue  # not measured in these runs
            pc, pm = cell([r['metrics'][key] for r in runs['patroni'] if key in r['metrics']])
            gc, gm = cell([r['metrics'][key] for r in runs['pgha'] if key in r['metrics']])
            if pm is not None and gm is not None and gm > 0 and pm > 0:
                better = (pm < gm) if higher else (pm > gm)
                q = pm / gm
                ratio = '%sx %s' % ('%.2f' % q if q >= 0.1 else '%.2g' % q,
                                    '(equal)' if pm == gm else '(PgHa better)' if better else '(Patroni better)')
            elif pm == 0 and gm == 0:
                ratio = '(equal)'
            else:
                ratio = '-'
            if target == '<= ttl + 0.3 s':
                target = '<= %.1f s (ttl + 0.3)' % (float(p0['ttl']) + 0.3)
            rows.append(('%s [%s]' % (label, unit), pc, gc, ratio, target))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for i, r in enumerate(rows):
            print('| ' + ' | '.join(c.ljust(widths[j]) for j, c in enumerate(r)) + ' |')
            if i == 0:
                print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    print()
    print('machine load (uptime) during the runs:')
    for line in load_text.strip().splitlines():
        print('  ' + line)
    print()
    print('details:')
    for r in results:
        d = r['details']
        print('  %s %s run %d:' % (r['profile'], r['system'], r['run']))
        for k in sorted(d):
            if k in ('rss', 'cpu', 'etcd_by_method', 'etcd_mvcc', 'etcd_window_s'):
                continue
            print('    %-28s %s' % (k, json.dumps(d[k])))
        for nd in d.get('rss', {}).get('nodes', []):
            print('    rss %-6s agent %s (%s) RSS %.1f MiB PSS %.1f MiB%s' % (
                nd['name'], nd['agent_pids'], ','.join(nd['agent_comm']), nd['agent_rss_kib'] / 1024,
                nd['agent_pss_kib'] / 1024,
                ('; fencer pid %d RSS %.1f MiB PSS %.1f MiB' % (nd['fencer_pid'], nd['fencer_rss_kib'] / 1024,
                                                               nd['fencer_pss_kib'] / 1024))
                if nd['fencer_pid'] else ''))
        if 'cpu' in d:
            print('    cpu seconds per agent in the idle window: %s' % json.dumps(d['cpu']))
        if 'etcd_by_method' in d:
            print('    etcd gRPC messages received in %.1f s idle, by method: %s' % (
                d['etcd_window_s'], json.dumps(d['etcd_by_method'], sort_keys=True)))
            print('    etcd MVCC counters in the window: %s' % json.dumps(d['etcd_mvcc'], sort_keys=True))
        print('    load: %s' % r.get('load', '?'))


def metric_delta(a, b, prefix):
    """Per-label deltas of counters starting with prefix."""
    out = {}
    for k, v in b['counters'].items():
        if k.startswith(prefix):
            out[k] = v - a['counters'].get(k, 0.0)
    return out


def label(key, name):
    import re
    m = re.search(name + '="([^"]*)"', key)
    return m.group(1) if m else '?'


def cmd_summarize(system, files_dir, load, profile, ttl, loop_wait, retry_timeout, idle_seconds):
    """Collect one run's JSON pieces into one result line. A step that did not run stays out of the table; a step
    that ran and failed is None (FAIL); a step that could not start because bootstrap failed is None too."""
    def load_json(name):
        p = os.path.join(files_dir, name + '.json')
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            return None
        with open(p) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        try:
            return json.loads(lines[-1]) if lines else None
        except ValueError:
            return None

    details, metrics = {}, {}
    run = int(os.path.basename(files_dir.rstrip('/')).rpartition('-')[2])

    def ok_value(name, field, key, ok_field='ok'):
        doc = load_json(name)
        if os.path.exists(os.path.join(files_dir, name + '.json')):
            details[name] = doc
            metrics[key] = doc.get(field) if doc and doc.get(ok_field) else None
        return doc

    boot = ok_value('bootstrap', 'seconds', 'bootstrap_s')
    ok_value('pm_crash', 'seconds', 'pm_crash_s')
    for name in ('pm_crash_reheal', 'switchover_patronictl_reheal', 'switchover_pghactl_reheal',
                 'switchover_rest_reheal', 'switchover_rewinds', 'sync_bootstrap', 'dcs_outage_reheal'):
        if load_json(name) is not None:
            details[name] = load_json(name)
    death = ok_value('node_death', 'seconds', 'node_death_s')
    if death is not None:
        metrics['node_death_lost'] = death.get('lost_acked_writes') if death.get('ok') else None
    sync = ok_value('sync_node_death', 'seconds', 'sync_node_death_s')
    if sync is not None:
        metrics['sync_gap_s'] = sync.get('gap_seconds') if sync.get('ok') else None
        metrics['sync_lost'] = sync.get('lost_acked_writes') if sync.get('ok') else None
    elif os.path.exists(os.path.join(files_dir, 'sync_bootstrap.json')):
        metrics['sync_node_death_s'] = None  # the sync cluster did not bootstrap
    for via, key in (('patronictl', 'patronictl'), ('pghactl', 'pghactl'), ('rest', 'rest')):
        sw = ok_value('switchover_' + via, 'max_gap_s', 'sw_%s_gap_s' % key)
        if sw is not None:
            metrics['sw_%s_cmd_s' % key] = sw.get('command_s') if sw.get('ok') else None
            if via != 'rest':
                metrics['%s_list_s' % key] = sw.get('ctl_list_s')
    dcs = ok_value('dcs_outage', 'max_gap_s', 'dcs_gap_s')
    if dcs is not None:
        if dcs.get('ok'):
            metrics['dcs_stop_s'] = dcs['stop_accepting_s'] if dcs.get('stopped_accepting_writes') else 'kept writing'
            metrics['dcs_heal_write_s'] = dcs.get('heal_first_write_s')
            metrics['dcs_lost'] = dcs.get('lost_acked_writes')
        else:
            metrics['dcs_stop_s'] = metrics['dcs_heal_write_s'] = metrics['dcs_lost'] = None
        metrics['dcs_heal_whole_s'] = dcs.get('heal_whole_s') if dcs.get('ok') else None
    rl = ok_value('rest_load', 'rps', 'rest_rps')
    if rl is not None:
        metrics['rest_p99_ms'] = rl.get('p99_ms') if rl.get('ok') else None
    rss = load_json('rss')
    if rss:
        agents = [n['agent_rss_kib'] for n in rss['nodes']]
        fencers = [n['fencer_rss_kib'] for n in rss['nodes']]
        metrics['rss_agent_mib'] = round(sum(agents) / len(agents) / 1024, 2)
        metrics['pss_agent_mib'] = round(sum(n['agent_pss_kib'] for n in rss['nodes']) / len(agents) / 1024, 2)
        metrics['rss_agent_fencer_mib'] = round((sum(agents) + sum(fencers)) / len(agents) / 1024, 2)
        details['rss'] = rss
    c0, c1 = load_json('cpu0'), load_json('cpu1')
    if c0 and c1:
        window = c1['t'] - c0['t']
        tck = float(c1['clk_tck'])
        per = {}
        for a, b in zip(c0['nodes'], c1['nodes']):
            if a['pid'] == b['pid']:
                per[b['name']] = {'agent_s': round((b['agent_ticks'] - a['agent_ticks']) / tck, 2),
                                  'fencer_s': round((b['fencer_ticks'] - a['fencer_ticks']) / tck, 2)
                                  if a.get('fencer_ticks') is not None and b.get('fencer_ticks') is not None
                                  and a['fencer_pid'] == b['fencer_pid'] else None}
        if len(per) == len(c1['nodes']):
            metrics['cpu_agent_s'] = round(sum(v['agent_s'] for v in per.values()) / len(per) * 60.0 / window, 2)
            metrics['cpu_agent_fencer_s'] = round(sum(v['agent_s'] + (v['fencer_s'] or 0) for v in per.values())
                                                  / len(per) * 60.0 / window, 2)
        details['cpu'] = {'window_s': round(window, 1), 'per_agent': per}
    m0, m1 = load_json('etcd0'), load_json('etcd1')
    if m0 and m1:
        window = m1['t'] - m0['t']
        msgs = metric_delta(m0, m1, 'grpc_server_msg_received_total')
        metrics['etcd_rps'] = round(sum(msgs.values()) / window, 2)
        by_method = {}
        for k, v in msgs.items():
            if v:
                by_method[label(k, 'grpc_method')] = by_method.get(label(k, 'grpc_method'), 0) + int(v)
        mvcc = {}
        for name in ('range', 'txn', 'put', 'delete'):
            mvcc[name] = int(sum(metric_delta(m0, m1, 'etcd_debugging_mvcc_%s_total' % name).values()))
        mvcc['lease_renewed'] = int(sum(metric_delta(m0, m1, 'etcd_debugging_lease_renewed_total').values()))
        metrics['etcd_mvcc_ops'] = round((mvcc['range'] + mvcc['txn'] + mvcc['put'] + mvcc['delete']) / window, 2)
        details['etcd_window_s'] = window
        details['etcd_by_method'] = by_method
        details['etcd_mvcc'] = mvcc
    ver = load_json('etcd_version') or {}
    emit({'system': system, 'profile': profile, 'run': run, 'ttl': ttl, 'loop_wait': loop_wait,
          'retry_timeout': retry_timeout, 'idle_seconds': idle_seconds, 'metrics': metrics, 'details': details,
          'load': load, 'etcd_version': ver.get('etcdserver', '?')})


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'wait-healthy':
        cmd_wait_healthy(args[0], args[1], json.loads(args[2]))
    elif cmd == 'etcd-metrics':
        cmd_etcd_metrics(args[0])
    elif cmd == 'rss':
        cmd_rss(json.loads(args[0]))
    elif cmd == 'cpu':
        cmd_cpu(json.loads(args[0]))
    elif cmd == 'rest-load':
        cmd_rest_load(args[0], json.loads(args[1]))
    elif cmd == 'failover':
        cmd_failover(args[0], args[1], json.loads(args[2]), *args[3:4])
    elif cmd == 'dcs-outage':
        cmd_dcs_outage(args[0], json.loads(args[1]), args[2], args[3])
    elif cmd == 'switchover':
        cmd_switchover(args[0], json.loads(args[1]), args[2], *args[3:5])
    elif cmd == 'summarize':
        cmd_summarize(*args[:8])
    elif cmd == 'report':
        cmd_report(args[0], args[1])
    else:
        sys.exit('unknown command ' + cmd)


if __name__ == '__main__':
    main()
