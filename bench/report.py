#!/usr/bin/env python3
"""Turns bench/results/<run>/results.json into a Markdown summary (summary.md), the tables that
docs/benchmarks.md quotes.

    bench/report.py results.json [summary.md]
    bench/report.py --compare before/results.json after/results.json [label-before label-after]
"""
import json
import math
import sys

SCRAPES_PER_HOUR = 3600 / 15   # a 15-second scrape interval
POLLS_PER_HOUR = 3600 / 15     # pgpulse's collectors at --interval 15s
RLS_DEFAULT_PER_HOUR = 3600 / 300  # the rls collector's default 5-minute interval


def fmt(value, digits=2):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}" if abs(value) >= 0.01 else f"{value:.4f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "n/a"
    r = a / b
    return f"{r:.3f}" if r < 1 else f"{r:.2f}"


def mib(kib):
    return kib / 1024 if kib is not None else None


def fit(xs, ys):
    """Least squares y = a + b x; returns a, b, r2."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss = sum((y - my) ** 2 for y in ys)
    res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return a, b, (1 - res / ss) if ss else 1.0


def loglog_slope(xs, ys):
    """Exponent k of y ~ x^k between the smallest and largest x > 0 (1: linear)."""
    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    (x0, y0), (x1, y1) = min(pts), max(pts)
    return math.log(y1 / y0) / math.log(x1 / x0) if x1 != x0 else None


def cpu_per_hour_pgpulse(w, rls_per_hour=RLS_DEFAULT_PER_HOUR):
    """CPU seconds per hour: polls of every fast collector at 15 s (each measured poll includes
    the self-metric scrapes of the watcher, ~5 per poll) + rls scans at the given rate + one
    scrape every 15 s + the idle rate between polls."""
    fast, rls, scrape = w["pgpulse_fast"], w["pgpulse_rls"], w["pgpulse_scrape"]
    ms = (POLLS_PER_HOUR * fast["cpu_ms_per_poll"] + rls_per_hour * rls["cpu_ms_per_scan"]
          + SCRAPES_PER_HOUR * scrape["seq"]["cpu_ms_per_scrape"]
          + 3600 * scrape["idle_cpu_ms_per_s"])
    return ms / 1000


def cpu_per_hour_peer(p):
    return (SCRAPES_PER_HOUR * p["seq"]["cpu_ms_per_scrape"] + 3600 * p["idle_cpu_ms_per_s"]) / 1000


def db_ms_per_hour_pgpulse(w, rls_per_hour=RLS_DEFAULT_PER_HOUR):
    return (POLLS_PER_HOUR * w["pgpulse_fast"]["db"]["server_ms"]
            + rls_per_hour * w["pgpulse_rls"]["db"]["server_ms"])


def conns(c):
    if not c:
        return "n/a"
    return f"{c['min']}" if c["min"] == c["max"] else f"{c['min']}–{c['max']}"


def workload_table(key, w):
    p, q = w["pgpulse_scrape"], w["peer"]
    fast, rls = w["pgpulse_fast"], w["pgpulse_rls"]
    rows = []

    def row(name, a, b, show_ratio=True, digits=2):
        rows.append(f"| {name} | {fmt(a, digits)} | {fmt(b, digits)} | "
                    f"{ratio(a, b) if show_ratio and not isinstance(a, str) else ''} |")
    pl, ql = p["seq"]["latency"], q["seq"]["latency"]
    row(f"/metrics latency median, ms (sequential, {pl['n']} / {ql['n']} scrapes)",
        pl["median_ms"], ql["median_ms"], digits=3)
    row("/metrics latency p99, ms", pl["p99_ms"], ql["p99_ms"], digits=3)
    pc, qc = p["concurrent"], q["concurrent"]
    row("10 concurrent scrapers: median, ms", pc.get("median_ms"), qc.get("median_ms"), digits=3)
    row("10 concurrent scrapers: p99, ms", pc.get("p99_ms"), qc.get("p99_ms"), digits=3)
    row("10 concurrent scrapers: scrapes/s", pc["requests_per_second"],
        qc["requests_per_second"])
    row("series per scrape", p["seq"]["series"], q["seq"]["series"])
    row("bytes per scrape", p["seq"]["bytes"], q["seq"]["bytes"])
    row(f"VmRSS after {p['scrapes_before_memory']} / {q['scrapes_before_memory']} scrapes, MiB",
        mib(p["memory_kib"]["VmRSS"]), mib(q["memory_kib"]["VmRSS"]))
    row("VmHWM (peak RSS) at that point, MiB", mib(p["memory_kib"]["VmHWM"]),
        mib(q["memory_kib"]["VmHWM"]))
    row("of VmRSS: RssAnon (heap, stacks), MiB", mib(p["memory_kib"].get("RssAnon")),
        mib(q["memory_kib"].get("RssAnon")))
    row("of VmRSS: RssFile (executable, shared libraries), MiB",
        mib(p["memory_kib"].get("RssFile")), mib(q["memory_kib"].get("RssFile")))
    row("Pss (shared pages divided among their users), MiB", mib(p["memory_kib"].get("Pss")),
        mib(q["memory_kib"].get("Pss")))
    row("VmHWM after the concurrent scrapes, MiB", mib(p["memory_kib_after_concurrent"]["VmHWM"]),
        mib(q["memory_kib_after_concurrent"]["VmHWM"]))
    row("CPU per scrape, ms", p["seq"]["cpu_ms_per_scrape"], q["seq"]["cpu_ms_per_scrape"],
        digits=3)
    row("CPU per pgpulse poll (all collectors but rls), ms", fast["cpu_ms_per_poll"], "—",
        show_ratio=False, digits=3)
    row("CPU per rls scan, ms", rls["cpu_ms_per_scan"], "—", show_ratio=False)
    row("**CPU s/hour, 15 s scrapes** (pgpulse: polls every 15 s, rls every 5 min)",
        cpu_per_hour_pgpulse(w), cpu_per_hour_peer(q))
    row("CPU s/hour, same with rls every 15 s", cpu_per_hour_pgpulse(w, POLLS_PER_HOUR),
        cpu_per_hour_peer(q))
    row("DB: statements per poll / per scrape", fast["db"]["queries"], q["db"]["queries"])
    row("**DB: server time per poll / per scrape, ms** (plan + exec)", fast["db"]["server_ms"],
        q["db"]["server_ms"], digits=3)
    row("DB: server CPU per poll / per scrape, ms (backend schedstat)",
        fast.get("server_cpu_ms_per_poll"), q.get("server_cpu_ms_per_scrape"), digits=3)
    row("DB: rows returned per poll / per scrape", fast["db"]["rows"], q["db"]["rows"])
    row("DB: statements per rls scan", rls["db"]["queries"], "—", show_ratio=False)
    row("DB: server time per rls scan, ms", rls["db"]["server_ms"], "—", show_ratio=False)
    row("DB: server CPU per rls scan, ms (backends, connection start included)",
        rls.get("server_cpu_ms_per_scan"), "—", show_ratio=False)
    row("DB: server time per hour, s (pgpulse: 240 polls + 12 rls scans; peer: 240 scrapes)",
        db_ms_per_hour_pgpulse(w) / 1000, SCRAPES_PER_HOUR * q["db"]["server_ms"] / 1000)
    row("connections held, steady state", conns(fast["connections"]),
        conns(q["connections_steady"]), show_ratio=False)
    row("connections held, max during rls scans / during 10 concurrent scrapes",
        conns(rls["connections"]), conns(q["connections_during_concurrent"]), show_ratio=False)
    header = (f"### Workload ({key}): {w['description']}\n\n"
              f"| | pgpulse | postgres_exporter | pgpulse/peer |\n|---|---:|---:|---:|")
    out = [header] + rows
    v = w.get("peer_variant")
    if v:
        out.append(f"\npostgres_exporter with `{' '.join(v['flags'])}`: median "
                   f"{fmt(v['seq']['latency']['median_ms'], 3)} ms, p99 "
                   f"{fmt(v['seq']['latency']['p99_ms'], 3)} ms, {v['seq']['series']} series, "
                   f"{fmt(v['db']['queries'])} statements and {fmt(v['db']['server_ms'], 3)} ms "
                   f"of server time per scrape, connections held {conns(v['connections_steady'])}"
                   f" (max {conns(v['connections_during_concurrent'])} under 10 concurrent "
                   f"scrapers), VmRSS {fmt(mib(v['memory_kib']['VmRSS']))} MiB.")
    return "\n".join(out)


def collectors_table(results):
    ws = results["workloads"]
    keys = [k for k in "abcd" if k in ws]
    names = ["connections", "idle_trend", "long_queries", "locks", "pools"]
    out = ["| collector | " + " | ".join(f"({k})" for k in keys) + " |",
           "|---|" + "---:|" * len(keys)]
    for name in names:
        out.append(f"| {name} | " + " | ".join(
            fmt(ws[k]["pgpulse_fast"]["collector_ms"].get(name), 3) for k in keys) + " |")
    out.append("| rls (wall, median) | " + " | ".join(
        fmt(ws[k]["pgpulse_rls"]["scan_ms_median"]) for k in keys) + " |")
    out.append("| poll, DB server time (all but rls) | " + " | ".join(
        fmt(ws[k]["pgpulse_fast"]["db"]["server_ms"], 3) for k in keys) + " |")
    out.append("| rls scan, DB server time | " + " | ".join(
        fmt(ws[k]["pgpulse_rls"]["db"]["server_ms"]) for k in keys) + " |")
    statements = sorted({s for k in keys for s in ws[k]["pgpulse_fast"]["db"]["by_statement"]}
                        | {s for k in keys for s in ws[k]["pgpulse_rls"]["db"]["by_statement"]})
    out.append("\nServer time per statement, ms per poll (fast collectors) or per scan (rls), "
               "from pg_stat_statements:\n")
    out.append("| statement | " + " | ".join(f"({k})" for k in keys) + " |")
    out.append("|---|" + "---:|" * len(keys))
    for s in statements:
        cells = []
        for k in keys:
            st = (ws[k]["pgpulse_fast"]["db"]["by_statement"].get(s)
                  or ws[k]["pgpulse_rls"]["db"]["by_statement"].get(s))
            cells.append(f"{fmt(st['server_ms'], 3)} ({fmt(st['calls'])}×, "
                         f"{fmt(st['rows'], 0)} rows)" if st else "—")
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def growth_tables(results):
    g = results["growth"]
    out = ["| client sessions | poll DB time, ms | server CPU per poll, ms | rows of "
           "pg_stat_activity | pgpulse CPU per poll, ms | connections collector, ms (includes "
           "both queries) |",
           "|---:|---:|---:|---:|---:|---:|"]
    pts = sorted(g["connections"], key=lambda p: p["client_sessions"])
    for p in pts:
        act = p["db"]["by_statement"].get("pgpulse activity (pg_stat_activity)", {})
        out.append(f"| {p['client_sessions']} | {fmt(p['db']['server_ms'], 3)} | "
                   f"{fmt(p.get('server_cpu_ms_per_poll'), 3)} | "
                   f"{fmt(act.get('rows'), 0)} | {fmt(p['cpu_ms_per_poll'], 3)} | "
                   f"{fmt(p['collector_ms'].get('connections'), 3)} |")
    xs = [p["client_sessions"] for p in pts]
    lines = []
    for label, ys in (("poll DB time", [p["db"]["server_ms"] for p in pts]),
                      ("server CPU per poll", [p.get("server_cpu_ms_per_poll", 0) for p in pts]),
                      ("CPU per poll", [p["cpu_ms_per_poll"] for p in pts]),
                      ("connections collector wall", [p["collector_ms"].get("connections", 0)
                                                      for p in pts])):
        f = fit(xs, ys)
        if f:
            k = loglog_slope(xs, [y - ys[0] for y in ys]) if xs[0] == 0 else loglog_slope(xs, ys)
            lines.append(f"- {label}: {fmt(f[0], 3)} ms + {fmt(f[1] * 1000, 3)} µs per session "
                         f"(least squares, R² = {f[2]:.3f}); growth exponent above the idle "
                         f"baseline {fmt(k)} (1 = linear)")
    out.append("\n" + "\n".join(lines))
    out.append("\n| tables in the database | rls scan wall, ms | per 1,000 tables, ms | DB server "
               "time, ms | server CPU, ms | rows returned | catalog rows read (EXPLAIN) | pgpulse "
               "CPU per scan, ms |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    tp = sorted(g["tables"], key=lambda p: p["tables_in_database"])
    for p in tp:
        e = p.get("explain") or {}
        out.append(f"| {p['tables_in_database']} | {fmt(p['scan_ms_median'])} | "
                   f"{fmt(p['scan_ms_median'] * 1000 / p['tables'])} | "
                   f"{fmt(p['db']['server_ms'])} | {fmt(p.get('server_cpu_ms_per_scan'))} | "
                   f"{fmt(p['db']['rows'], 0)} | "
                   f"{fmt(e.get('catalog_rows_read'), 0)} | {fmt(p['cpu_ms_per_scan'])} |")
    xs = [p["tables"] for p in tp]
    lines = []
    for label, ys in (("rls scan wall", [p["scan_ms_median"] for p in tp]),
                      ("rls DB server time", [p["db"]["server_ms"] for p in tp]),
                      ("rls server CPU", [p.get("server_cpu_ms_per_scan", 0) for p in tp]),
                      ("rls CPU", [p["cpu_ms_per_scan"] for p in tp])):
        f = fit(xs, ys)
        if f:
            lines.append(f"- {label}: {fmt(f[0])} ms + {fmt(f[1] * 1000, 3)} ms per 1,000 tables "
                         f"(R² = {f[2]:.3f}); growth exponent {fmt(loglog_slope(xs, ys))}")
    out.append("\n" + "\n".join(lines))
    return "\n".join(out)


def scale_table(results):
    out = ["| databases | tables in all | rls scan wall, ms (median) | per 1,000 tables, ms | "
           "per database, ms | DB server time, ms | server CPU, ms | statements | rows returned "
           "| connections (max) | pgpulse CPU per scan, ms |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = []
    c = results["workloads"].get("c")
    if c:
        rows.append({"databases": 2, **c["pgpulse_rls"]})
    rows += results["rls_scale"]
    for r in rows:
        out.append(f"| {r['databases']} | {r['tables']} | {fmt(r['scan_ms_median'])} | "
                   f"{fmt(r['scan_ms_median'] * 1000 / max(1, r['tables']))} | "
                   f"{fmt(r['scan_ms_median'] / max(1, r['databases']))} | "
                   f"{fmt(r['db']['server_ms'])} | {fmt(r.get('server_cpu_ms_per_scan'))} | "
                   f"{fmt(r['db']['queries'])} | "
                   f"{fmt(r['db']['rows'], 0)} | {conns(r['connections'])} | "
                   f"{fmt(r['cpu_ms_per_scan'])} |")
    return "\n".join(out)


def rss_drift(s):
    """Retained growth of VmRSS over the run: readings taken while a poll is in flight carry its
    transient allocations, so each quarter of the run is represented by its lowest reading; the
    drift is the last quarter's minus the first's."""
    pts = [p for p in s["points"] if p["scrapes"] > 0]
    q = max(1, len(pts) // 4)
    first, last = pts[:q], pts[-q:]
    return (min(p["VmRSS"] for p in last) - min(p["VmRSS"] for p in first),
            max(p["VmRSS"] for p in pts) - min(p["VmRSS"] for p in pts))


def stability(results):
    s = results.get("stability")
    if not s:
        return ""
    pts = s["points"]
    drift, spread = rss_drift(s)
    out = [f"{s['scrapes']} scrapes in {s['seconds']:.1f} s at workload (b), every collector "
           f"polling every {s.get('poll_interval_s', 0.25) * 1000:.0f} ms "
           f"(~{s['approx_polls']:.0f} polls; rls every 2 s): median "
           f"{fmt(s['latency']['median_ms'], 3)} ms, p99 {fmt(s['latency']['p99_ms'], 3)} ms.", "",
           f"Retained drift (lowest VmRSS of the last quarter minus lowest of the first): "
           f"{drift:+,} KiB; spread of all readings {spread:,} KiB (readings that fall during a "
           f"poll include its transient allocations).", "",
           "| scrapes | VmRSS, KiB | RssAnon, KiB | VmHWM, KiB |", "|---:|---:|---:|---:|"]
    step = max(1, len(pts) // 20)
    for i, p in enumerate(pts):
        if i % step == 0 or i == len(pts) - 1:
            out.append(f"| {p['scrapes']} | {p['VmRSS']:,} | {p.get('RssAnon', 0):,} | "
                       f"{p['VmHWM']:,} |")
    return "\n".join(out)


def targets(results):
    ws = results["workloads"]
    out = ["| target (issue 6) | measured | verdict |", "|---|---|---|"]

    def verdict(ok):
        return "**met**" if ok else "**missed**"
    b = ws.get("b")
    if b:
        pm = b["pgpulse_scrape"]["seq"]["latency"]["median_ms"]
        qm = b["peer"]["seq"]["latency"]["median_ms"]
        out.append(f"| scrape latency ≤ 1/20 of postgres_exporter's at (b) | median {fmt(pm, 3)} "
                   f"vs {fmt(qm, 3)} ms: ratio {ratio(pm, qm)} (p99 ratio "
                   f"{ratio(b['pgpulse_scrape']['seq']['latency']['p99_ms'], b['peer']['seq']['latency']['p99_ms'])}) "
                   f"| {verdict(pm <= qm / 20)} |")
        out.append(f"| median scrape < 1 ms at (b) | {fmt(pm, 3)} ms | {verdict(pm < 1)} |")
    rss_ok = True
    cells = []
    for k, w in sorted(ws.items()):
        r = w["pgpulse_scrape"]["memory_kib"]["VmRSS"] / w["peer"]["memory_kib"]["VmRSS"]
        rss_ok &= r <= 1 / 3
        cells.append(f"({k}) {ratio(w['pgpulse_scrape']['memory_kib']['VmRSS'], w['peer']['memory_kib']['VmRSS'])}")
    out.append(f"| VmRSS ≤ 1/3 of postgres_exporter's | {', '.join(cells)} | {verdict(rss_ok)} |")
    anon_ok = True
    cells = []
    for k, w in sorted(ws.items()):
        a, b_ = w["pgpulse_scrape"]["memory_kib"].get("RssAnon"), w["peer"]["memory_kib"].get("RssAnon")
        if a and b_:
            anon_ok &= a / b_ <= 1 / 3
            cells.append(f"({k}) {ratio(a, b_)}")
    if cells:
        ref = results.get("machine", {}).get("psql_memory_kib", {})
        out.append(f"| (same, private memory: RssAnon ≤ 1/3) | {', '.join(cells)}"
                   + (f"; an idle psql (Debian's libpq) has VmRSS {fmt(mib(ref['VmRSS']))} MiB, "
                      f"RssAnon {fmt(mib(ref['RssAnon']))} MiB" if ref else "")
                   + f" | {verdict(anon_ok)} |")
    s = results.get("stability")
    if s:
        drift, spread = rss_drift(s)
        out.append(f"| RSS flat over {s['scrapes']} scrapes | retained drift {drift:+,} KiB "
                   f"(spread {spread:,} KiB) over ~{s['approx_polls']:.0f} polls | "
                   f"{verdict(drift <= 256)} |")
    steady = [(k, w["pgpulse_fast"]["connections"]) for k, w in sorted(ws.items())]
    one = all(c and c["min"] == 1 and c["max"] == 1 for _, c in steady)
    during = [(k, w["pgpulse_rls"]["connections"]) for k, w in sorted(ws.items())]
    out.append("| exactly one connection per target at steady state (catalog scans: one more) | "
               + ", ".join(f"({k}) {conns(c)}" for k, c in steady) + "; during rls scans "
               + ", ".join(f"({k}) {conns(c)}" for k, c in during) + f" | "
               f"{verdict(one and all(c and c['max'] <= 2 for _, c in during))} |")
    if b:
        ms = b["pgpulse_fast"]["db"]["server_ms"]
        cpu = b["pgpulse_fast"].get("server_cpu_ms_per_poll")
        out.append(f"| a poll at (b) under 10 ms of DB time | {fmt(ms, 3)} ms in pg_stat_statements "
                   f"(plan + exec, {fmt(b['pgpulse_fast']['db']['queries'])} statements); server "
                   f"CPU {fmt(cpu, 3)} ms | {verdict(ms < 10)} |")
    c = ws.get("c")
    if c:
        r = c["pgpulse_rls"]
        out.append(f"| RLS scan at (c) under 500 ms | {fmt(r['scan_ms_median'])} ms wall (median "
                   f"of {r['scans']}), {fmt(r['db']['server_ms'])} ms DB (pg_stat_statements), "
                   f"{fmt(r.get('server_cpu_ms_per_scan'))} ms server CPU, {r['tables']} tables "
                   f"| {verdict(r['scan_ms_median'] < 500) if r['tables'] >= 10000 else 'not judged: fewer than 10,000 tables (--quick)'} |")
    return "\n".join(out)


def machine(results):
    m = results.get("machine", {})
    return (f"- date: {m.get('date')}\n- machine: {m.get('nproc')} vCPU, {m.get('cpu_model')}, "
            f"{m.get('mem_total_gib')} GiB RAM, Linux {m.get('kernel')}, load average at start "
            f"{', '.join(f'{x:.2f}' for x in m.get('load_average_at_start', []))} (shared)\n"
            f"- pgpulse: {m.get('pgpulse_version')} ({m.get('pgpulse_binary')})\n"
            f"- postgres_exporter: {m.get('peer_version')}\n"
            f"- PostgreSQL: {m.get('postgres_version', '').split(',')[0]}, settings "
            f"{m.get('postgres_settings')}\n"
            f"- mode: {'--quick' if results.get('quick') else 'full'}")


def statements_table(results):
    """Issue 15: one statements poll (pgpulse) against one scrape of the peer's
    pg_stat_statements query, at the same number of tracked statements."""
    st = results.get("statements")
    if not st:
        return "not measured"
    out = [f"{st['statements']} distinct statements run by a client before each measurement "
           "(pg_stat_statements.max 10000, so none evicted); pgpulse's statements collector alone, "
           "every second, while 15 statements stay busy: the same 15 (steady) or 15 others every "
           "second (churn: new statements enter the top N (20) at every poll, texts are fetched "
           "every other poll). Per poll (pgpulse) or "
           "scrape (postgres_exporter), from pg_stat_statements of each exporter's own role.\n",
           "| texts | exporter | tracked | DB time, ms | temp written, KiB | server CPU, ms | "
           "wall, ms | series |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for variant in ("short_texts", "long_texts"):
        v = st.get(variant)
        if not v:
            continue
        label = f"{variant.split('_')[0]} ({v['text_bytes'] / 1e6:.1f} MB)"
        for mode in ("steady", "churn"):
            p = v[mode]
            out.append(f"| {label} | pgpulse, {mode} | {fmt(p.get('tracked'), 0)} | "
                       f"{fmt(p['db_ms_per_poll'])} | {fmt(p['temp_bytes_per_poll'] / 1024, 0)} | "
                       f"{fmt(p['server_cpu_ms_per_poll'])} | {fmt(p['wall_ms_median'])} | "
                       f"{p['series']} |")
        q = v["peer"]
        out.append(f"| {label} | postgres_exporter, queries.yaml pg_stat_statements | "
                   f"{v['tracked_before']} | {fmt(q['pgss_query_ms_per_scrape'])} | "
                   f"{fmt((q['pgss_query_temp_bytes_per_scrape'] or 0) / 1024, 0)} | "
                   f"{fmt(q['server_cpu_ms_per_scrape'])} | "
                   f"{fmt(q['latency']['median_ms'])} | {q['series']} |")
    out.append("\npgpulse's poll by statement (per poll: calls, ms of DB time, KiB of temp):\n")
    out.append("| texts | mode | statement | calls | DB ms | temp KiB |")
    out.append("|---|---|---|---:|---:|---:|")
    for variant in ("short_texts", "long_texts"):
        for mode in ("steady", "churn"):
            p = st.get(variant, {}).get(mode)
            for name, c in sorted((p or {}).get("by_statement", {}).items()):
                out.append(f"| {variant.split('_')[0]} | {mode} | {name} | {fmt(c['calls'])} | "
                           f"{fmt(c['server_ms'], 3)} | {fmt(c['temp_bytes'] / 1024, 0)} |")
    return "\n".join(out)


def render(results):
    if not results.get("workloads"):  # bench.py --only statements
        return "\n".join(["## Machine and versions\n", machine(results),
                          "\n## Statements at 5,000 tracked (issue 15)\n",
                          statements_table(results)]) + "\n"
    parts = ["## Machine and versions\n", machine(results), "\n## Targets\n", targets(results),
             "\n## Side by side\n"]
    for k, w in sorted(results["workloads"].items()):
        parts.append(workload_table(k, w) + "\n")
    parts += ["## pgpulse's poll cost per collector (wall ms per run, median)\n",
              collectors_table(results),
              "\n## Growth with connections and tables\n", growth_tables(results),
              "\n## RLS catalog scan at scale (issue 4)\n", scale_table(results),
              "\n## RSS stability\n", stability(results),
              "\n## Statements at 5,000 tracked (issue 15)\n", statements_table(results)]
    return "\n".join(parts) + "\n"


def compare(a, b, label_a, label_b):
    """pgpulse's own figures from two runs (e.g. before and after a patch), same workloads."""
    out = [f"| workload | metric | {label_a} | {label_b} | change |", "|---|---|---:|---:|---:|"]
    metrics = [
        ("poll: DB time (pg_stat_statements), ms", lambda w: w["pgpulse_fast"]["db"]["server_ms"]),
        ("poll: server CPU, ms", lambda w: w["pgpulse_fast"].get("server_cpu_ms_per_poll")),
        ("poll: pgpulse CPU, ms", lambda w: w["pgpulse_fast"]["cpu_ms_per_poll"]),
        ("connections collector wall, ms", lambda w: w["pgpulse_fast"]["collector_ms"]["connections"]),
        ("rls scan wall, ms", lambda w: w["pgpulse_rls"]["scan_ms_median"]),
        ("rls scan DB time, ms", lambda w: w["pgpulse_rls"]["db"]["server_ms"]),
        ("rls scan server CPU, ms", lambda w: w["pgpulse_rls"].get("server_cpu_ms_per_scan")),
        ("sessions held during rls scans (max)", lambda w: (w["pgpulse_rls"]["connections"] or {}).get("max")),
        ("scrape median, ms", lambda w: w["pgpulse_scrape"]["seq"]["latency"]["median_ms"]),
        ("VmRSS after 1,000 scrapes, MiB", lambda w: mib(w["pgpulse_scrape"]["memory_kib"]["VmRSS"])),
        ("CPU s/hour (15 s, rls 5 min)", cpu_per_hour_pgpulse),
    ]
    for k in "abcd":
        if k not in a["workloads"] or k not in b["workloads"]:
            continue
        for name, get in metrics:
            x, y = get(a["workloads"][k]), get(b["workloads"][k])
            change = f"{(y / x - 1) * 100:+.0f}%" if x and y is not None else ""
            out.append(f"| ({k}) | {name} | {fmt(x, 3)} | {fmt(y, 3)} | {change} |")
    return "\n".join(out)


def write(results_path, summary_path):
    with open(results_path) as f:
        results = json.load(f)
    with open(summary_path, "w") as f:
        f.write(render(results))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--compare":
        # bench/report.py --compare before/results.json after/results.json [label] [label]
        with open(sys.argv[2]) as f:
            before = json.load(f)
        with open(sys.argv[3]) as f:
            after = json.load(f)
        labels = sys.argv[4:6] if len(sys.argv) > 5 else ["before", "after"]
        print(compare(before, after, *labels))
    else:
        write(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/dev/stdout")
