#!/usr/bin/python3
"""Measurement helper for bench/failover-vs-patroni (run with the system python3, which has psycopg2).

Subcommands (all loops are bounded; every result is one JSON object on stdout):
  wait-healthy T0 TIMEOUT NODES        time from T0 (epoch seconds) until one running master whose
                                       pg_stat_replication shows the two other members 'streaming' and two running
                                       replicas (GET /patroni of every node).
  etcd-metrics URL                     the etcd counters used for the request rate (see README.md).
  rss NODES                            RSS/PSS of each agent (plus its non-postgres descendants) and of PgHa fencers.
  failover MODE TIMEOUT NODES          MODE = node-death | postmaster-crash: writer every 20 ms through a multi-host
                                       libpq connection, kill -9, time to the first acknowledged write afterwards.
  switchover TIMEOUT NODES CTL_CONFIG  writer every 10 ms through a multi-host libpq connection; after 1 s of writes
                                       `patronictl -c CTL_CONFIG switchover --leader L --candidate C --force` (C = the
                                       first replica by name); the command's runtime and the longest time between two
                                       acknowledged writes around it, until writes land on C.
  report RESULTS_JSONL LOAD_TEXT       print the comparison table.

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


def cmd_failover(mode, timeout, nodes):
    timeout = float(timeout)
    ok, leader, why = False, None, ''
    for _ in range(100):  # up to ~10 s for the cluster to be healthy before the fault
        ok, leader, why = healthy(nodes)
        if ok:
            break
        time.sleep(0.1)
    if not ok:
        emit({'ok': False, 'seconds': None, 'why': 'cluster not healthy before the fault: ' + why})
        return
    conn = pg_connect(leader['pg'])
    conn.autocommit = True
    conn.cursor().execute('create table if not exists bench_writes (id bigserial primary key, '
                          'at timestamptz not null default clock_timestamp(), note text)')
    conn.close()
    dsn = ('host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s user=postgres password=%s dbname=postgres '
           'connect_timeout=2 target_session_attrs=read-write options=\'-c statement_timeout=2000\''
           % (','.join(str(n['pg']) for n in nodes), PASSWORD))
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
    while time.monotonic() - start < timeout:
        t_try = time.monotonic()
        port = None
        success = False
        try:
            if conn is None:
                conn = psycopg2.connect(dsn)
                conn.autocommit = True
            port = str(conn.info.port)
            conn.cursor().execute('insert into bench_writes (note) values (%s)', (mode,))
            success = True
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
    emit(result)


PATRONICTL = '/usr/bin/patronictl'


def cmd_switchover(timeout, nodes, ctl_config, via='patronictl'):
    import subprocess
    import threading
    timeout = float(timeout)
    ok, leader, why = False, None, ''
    for _ in range(100):
        ok, leader, why = healthy(nodes)
        if ok:
            break
        time.sleep(0.1)
    if not ok:
        emit({'ok': False, 'why': 'cluster not healthy before the switchover: ' + why})
        return
    candidate = sorted(n['name'] for n in nodes if n['name'] != leader['name'])[0]
    cand_port = str([n['pg'] for n in nodes if n['name'] == candidate][0])
    conn = pg_connect(leader['pg'])
    conn.autocommit = True
    conn.cursor().execute('create table if not exists bench_writes (id bigserial primary key, '
                          'at timestamptz not null default clock_timestamp(), note text)')
    conn.close()
    dsn = ('host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s user=postgres password=%s dbname=postgres '
           'connect_timeout=2 target_session_attrs=read-write options=\'-c statement_timeout=2000\''
           % (','.join(str(n['pg']) for n in nodes), PASSWORD))
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
    # patronictl's fixed cost (python start-up, imports, one DCS read, a table): `list` just before, for reference
    t_list = time.monotonic()
    if via != 'rest':
        subprocess.run([PATRONICTL, '-c', ctl_config, 'list'], capture_output=True, text=True, env=env, timeout=timeout)
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
        run = subprocess.run([PATRONICTL, '-c', ctl_config, 'switchover', '--leader', leader['name'],
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
          'patronictl_list_s': round(list_s, 3) if list_s is not None else None,
          'max_gap_s': round(max_gap, 3) if max_gap is not None else None,
          'gap_started_after_command_s': round(gap_at - t_cmd, 3) if gap_at is not None else None,
          'first_write_on_candidate_s': round(first_on_candidate - t_cmd, 3) if first_on_candidate else None,
          'old_leader': leader['name'], 'candidate': candidate, 'acks': len(acks), 'failed_attempts': failures[0],
          'command_rc': run.returncode, 'command_output': out[0] if out else '',
          'command_stderr': run.stderr.strip().splitlines()[-3:]})


# ---- report ----------------------------------------------------------------------------------------------------
METRICS = [
    # key, label, unit, PgHa target (issue #3)
    ('bootstrap_s', 'bootstrap: start of 3 agents -> leader + 2 streaming replicas', 's', '<= 6 s'),
    ('node_death_s', 'node death (kill -9 agent+postmaster of leader): kill -> first write on another node', 's',
     '<= ttl + 0.3 = 10.3 s'),
    ('switchover_gap_s', 'switchover (patronictl switchover --force): max gap between acknowledged writes', 's',
     '<= 0.4 s (issue #4)'),
    ('switchover_cmd_s', 'switchover: patronictl switchover --force runtime', 's', '<= 1 s (issue #4)'),
    ('patronictl_list_s', '(reference) patronictl list runtime just before, same machine', 's', '(info)'),
    ('switchover_rest_s', 'switchover 3 via POST /switchover (no patronictl): request -> answer', 's', '(info)'),
    ('switchover_rest_gap_s', 'switchover 3 via POST /switchover: max gap between acknowledged writes', 's', '(info)'),
    ('pm_crash_s', 'postmaster crash (kill -9 leader postmaster): kill -> first write', 's', '<= 1.5 s'),
    ('rss_agent_mib', 'idle RSS per agent (mean of 3 agents)', 'MiB', '<= 30 MiB'),
    ('rss_agent_fencer_mib', 'idle RSS per agent incl. fencer ((3 agents + all fencers) / 3)', 'MiB', '<= 30 MiB'),
    ('etcd_rps', 'etcd requests/s, 30 s idle (gRPC messages received, all clients)', '/s', "<= Patroni's"),
    ('etcd_mvcc_ops', 'etcd MVCC ops/s, 30 s idle (range + txn + put + delete)', '/s', '(info)'),
]


def fmt(v):
    if v is None:
        return 'FAIL'
    if abs(v) >= 100:
        return '%.0f' % v
    if abs(v) >= 10:
        return '%.1f' % v
    return '%.2f' % v


def cell(vals):
    good = [v for v in vals if v is not None]
    if not vals:
        return '-', None
    if len(vals) == 1:
        return fmt(vals[0]), vals[0]
    med = statistics.median(good) if good else None
    fails = len(vals) - len(good)
    s = '%s / %s / %s' % (fmt(min(good)) if good else 'FAIL', fmt(med), fmt(max(good)) if good else 'FAIL')
    if fails:
        s += ' (%d FAIL)' % fails
    return s, med


def cmd_report(path, load_text):
    runs = {'patroni': [], 'pgha': []}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs[r['system']].append(r)
    n = max(len(runs['patroni']), len(runs['pgha']))
    print()
    print('Patroni 3.0.2 vs PgHa, same Patroni YAML (ttl=10 loop_wait=2 retry_timeout=3), 3 nodes, PostgreSQL 15, '
          'etcd %s' % (runs['patroni'] or runs['pgha'])[0].get('etcd_version', '?'))
    print('runs per system: %d%s' % (n, '   (cells: min / median / max; ratio of medians)' if n > 1 else ''))
    print('lower is better for every metric; ratio = Patroni / PgHa, so ratio > 1 means PgHa is better')
    print()
    rows = [('metric', 'Patroni', 'PgHa', 'ratio Patroni/PgHa', 'PgHa target')]
    for key, label, unit, target in METRICS:
        if not any(key in r['metrics'] for r in runs['patroni'] + runs['pgha']):
            continue  # not measured in these runs
        pc, pm = cell([r['metrics'].get(key) for r in runs['patroni']])
        gc, gm = cell([r['metrics'].get(key) for r in runs['pgha']])
        if pm is not None and gm is not None and gm > 0:
            ratio = '%.2fx %s' % (pm / gm, '(PgHa better)' if pm > gm else '(Patroni better)' if pm < gm else '(equal)')
        else:
            ratio = '-'
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
    for system in ('patroni', 'pgha'):
        for i, r in enumerate(runs[system], 1):
            d = r['details']
            print('  %s run %d:' % (system, i))
            for k in ('bootstrap', 'switchover1', 'switchover2', 'switchover3', 'switchover_reheal', 'switchover_rewinds', 'pm_crash', 'pm_crash_reheal', 'node_death'):
                if k in d:
                    print('    %-16s %s' % (k, json.dumps(d[k])))
            for nd in d.get('rss', {}).get('nodes', []):
                print('    rss %-6s agent %s (%s) RSS %.1f MiB PSS %.1f MiB%s' % (
                    nd['name'], nd['agent_pids'], ','.join(nd['agent_comm']), nd['agent_rss_kib'] / 1024,
                    nd['agent_pss_kib'] / 1024,
                    ('; fencer pid %d RSS %.1f MiB PSS %.1f MiB' % (nd['fencer_pid'], nd['fencer_rss_kib'] / 1024,
                                                                   nd['fencer_pss_kib'] / 1024))
                    if nd['fencer_pid'] else ''))
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


def cmd_summarize(system, files_dir, load):
    """Collect one run's JSON pieces into one result line."""
    def load_json(name):
        p = os.path.join(files_dir, name)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            return None
        with open(p) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        return json.loads(lines[-1]) if lines else None

    boot = load_json('bootstrap.json') or {'ok': False}
    crash = load_json('pm_crash.json') or {'ok': False}
    reheal = load_json('pm_crash_reheal.json')
    death = load_json('node_death.json') or {'ok': False}
    details = {'bootstrap': boot, 'pm_crash': crash, 'node_death': death}
    metrics = {'bootstrap_s': boot.get('seconds')}
    # steps that were not run (--switchover-only) stay out of the table instead of showing up as FAIL
    if os.path.exists(os.path.join(files_dir, 'pm_crash.json')) or not boot.get('ok'):
        metrics['pm_crash_s'] = crash.get('seconds')
    if os.path.exists(os.path.join(files_dir, 'node_death.json')) or not boot.get('ok'):
        metrics['node_death_s'] = death.get('seconds')
    rss = load_json('rss.json')
    sw = [x for x in (load_json('switchover1.json'), load_json('switchover2.json')) if x]
    for i, x in enumerate(sw, 1):
        details['switchover%d' % i] = x
    rest_sw = load_json('switchover3.json')
    if rest_sw:
        details['switchover3'] = rest_sw
        metrics['switchover_rest_s'] = rest_sw.get('command_s') if rest_sw.get('ok') else None
        metrics['switchover_rest_gap_s'] = rest_sw.get('max_gap_s') if rest_sw.get('ok') else None
    reheal_sw = load_json('switchover_reheal.json')
    if reheal_sw:
        details['switchover_reheal'] = reheal_sw
    rewinds = load_json('switchover_rewinds.json')
    if rewinds:
        details['switchover_rewinds'] = rewinds
    if sw:
        # the worse of the two switchovers of this run (there and back); FAIL if either failed
        metrics['switchover_gap_s'] = None if not all(x.get('ok') for x in sw) else max(x['max_gap_s'] for x in sw)
        metrics['switchover_cmd_s'] = None if not all(x.get('ok') for x in sw) else max(x['command_s'] for x in sw)
        metrics['patronictl_list_s'] = max(x.get('patronictl_list_s') or 0 for x in sw) or None
    m0, m1 = load_json('etcd0.json'), load_json('etcd1.json')
    if reheal:
        details['pm_crash_reheal'] = reheal
    if rss:
        agents = [n['agent_rss_kib'] for n in rss['nodes']]
        fencers = [n['fencer_rss_kib'] for n in rss['nodes']]
        metrics['rss_agent_mib'] = round(sum(agents) / len(agents) / 1024, 2)
        metrics['rss_agent_fencer_mib'] = round((sum(agents) + sum(fencers)) / len(agents) / 1024, 2)
        details['rss'] = rss
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
    ver = load_json('etcd_version.json') or {}
    emit({'system': system, 'metrics': metrics, 'details': details, 'load': load,
          'etcd_version': ver.get('etcdserver', '?')})


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'wait-healthy':
        cmd_wait_healthy(args[0], args[1], json.loads(args[2]))
    elif cmd == 'etcd-metrics':
        cmd_etcd_metrics(args[0])
    elif cmd == 'rss':
        cmd_rss(json.loads(args[0]))
    elif cmd == 'failover':
        cmd_failover(args[0], args[1], json.loads(args[2]))
    elif cmd == 'switchover':
        cmd_switchover(args[0], json.loads(args[1]), args[2], *args[3:4])
    elif cmd == 'summarize':
        cmd_summarize(args[0], args[1], args[2])
    elif cmd == 'report':
        cmd_report(args[0], args[1])
    else:
        sys.exit('unknown command ' + cmd)


if __name__ == '__main__':
    main()
