#!/usr/bin/env python3
"""Replays on-call incidents end to end and prints what pgpulse and its alerts made of them.

    suite.py [--short] [--markdown FILE] [--only NAME,...] [--keep-logs DIR]

A throwaway PostgreSQL (scripts/pg_test_server.sh) with a multi-tenant database using row-level
security; a real client: SQLAlchemy 1.4 QueuePool pools over psycopg2 in separate processes per
replica (tests/scenarios/app.py: web API replicas, Celery-like workers, a reports service), each
replica reaching the server from its own loopback address through tests/scenarios/proxy.py; a
real pgpulse daemon (build/pgpulse); a real Prometheus with the shipped rules
(deploy/prometheus/alerts.yml, time-compressed: see RULE TIME below and docs/scenarios.md) and a
real Alertmanager with the shipped routing (deploy/alertmanager/alertmanager.yml, every receiver a
webhook of this suite).

First a healthy-load phase (no alert may fire, check must exit 0), then each incident: its cause,
then pgpulse's signal, the alert, `pgpulse check` (direct and --daemon), the cause removed, the
resolution. Detection is counted in pgpulse poll intervals, from the first moment the signal
could show (the incident's start, or its start plus the signal's threshold, e.g. 30 s of lock
wait) to the first scrape of pgpulse's /metrics that shows it. The suite exits 1 when an incident
is not detected, its alert does not fire or does not resolve, an alert fires that the incident
does not explain, check exits with another code than expected, or the healthy phase raises an
alert. --short runs the incidents that fit in about 3.5 minutes (not the 5-minute idle
transaction, not the lock pile-up, not the hang), with a shorter healthy phase.

Needs Debian's python3-sqlalchemy, python3-psycopg2 and python3-yaml, prometheus and
prometheus-alertmanager (tests/scenarios/run.sh installs them).
"""
import argparse
import signal
import sys
import time
import traceback

from environment import Environment
from harness import (EXTRA_WEB, IDLE_TREND_WINDOW, INTERVAL, KNOWN_BUGS, REPLICAS,
                     RULE_TIME_FACTOR, Result, Scenario, duration_seconds, log, wait_until)
from incidents import SCENARIOS


# ---------------------------------------------------------------- running them
def quiet_phase(env, name, title, incident, seconds, problems_if_alerts=True):
    """Load as usual: no alert may fire, check must exit 0 (direct and --daemon)."""
    result = Result(type("Quiet", (Scenario,), {"name": name, "title": title,
                                                "incident": incident, "expected": [],
                                                "check_expected": (0, 0)})(env.args))
    log(f"== {title}: {seconds:.0f}s of {incident}")
    started = time.time()
    base = env.stats()
    time.sleep(seconds / 2)
    result.check = env.check()
    result.check_daemon = env.check(daemon=True)
    time.sleep(max(0.0, started + seconds - time.time()))
    fired = env.alerts.fired_since(started)
    for alert in sorted(fired):
        if (name, alert[0]) in KNOWN_BUGS:
            result.known.add(alert)
            result.note(f"known bug: {alert[0]} ({alert[1]}) fired: {KNOWN_BUGS[(name, alert[0])]}")
        else:
            result.unexpected.add(alert)
    if result.unexpected and problems_if_alerts:
        result.problem(f"alerts fired under healthy load: {sorted(result.unexpected)}")
    for label, (code, summary) in (("check", result.check), ("check --daemon", result.check_daemon)):
        if code != 0:
            result.problem(f"{label} exited {code} under healthy load ({summary})")
    stats = env.stats()
    requests = stats["ok"] - base["ok"]
    result.note(f"{requests} requests and jobs in {seconds:.0f}s ({requests / seconds:.0f}/s), "
                f"{stats['queuepool_timeouts'] - base['queuepool_timeouts']} QueuePool timeouts")
    result.seconds = time.time() - started
    return result


def settle(env, timeout=60):
    """Waits until no alert fires; returns what still fires after the timeout."""
    wait_until(lambda: not env.alerts.firing_now(), timeout, step=0.5)
    return sorted({(k[0], k[1]) for k in env.alerts.firing_now()})


def run_scenario(env, scenario):
    result = Result(scenario)
    log(f"== {scenario.title}: {scenario.incident}")
    env.stats_base = {name: env.stats([name]) for name in list(REPLICAS) + list(EXTRA_WEB)}
    lingering = {k[0] for k in env.alerts.firing_now()}
    t0 = time.time()
    try:
        scenario.start(env)
        reference = t0 + scenario.threshold
        seen = wait_until(lambda: scenario.signal_on(env.scrape()),
                          scenario.threshold + scenario.detect_timeout, step=0.2)
        if seen is None:
            result.problem(f"not detected: {scenario.signal} never held")
        else:
            result.detected = max(0.0, t0 + seen - reference)
            log(f"  detected: {scenario.signal} after {t0 + seen - t0:.1f}s")

        def all_fired():
            return all(env.alerts.first_firing(n, t0, s) for n, s in scenario.expected)
        wait_until(all_fired, scenario.threshold + scenario.alert_timeout, step=0.5)
        for name, severity in scenario.expected:
            first = env.alerts.first_firing(name, t0, severity)
            if first is None:
                result.problem(f"{name} ({severity}) did not fire")
            else:
                result.alerts[(name, severity)] = first - t0
        for code_slot, daemon in (("check", False), ("check_daemon", True)):
            setattr(result, code_slot, env.check(daemon=daemon))
        for (code, summary), want, label in (
                (result.check, scenario.check_expected[0], "check"),
                (result.check_daemon, scenario.check_expected[1], "check --daemon")):
            if code != want:
                result.problem(f"{label} exited {code}, expected {want} ({summary})")
        scenario.during(env, result)
    except Exception as e:  # noqa: BLE001 - the scenario fails, the suite goes on
        result.problem(f"the scenario broke: {e!r}")
        traceback.print_exc()
    finally:
        t1 = time.time()
        try:
            scenario.stop(env)
        except Exception as e:  # noqa: BLE001
            result.problem(f"removing the cause failed: {e!r}")
    cleared = wait_until(lambda: scenario.signal_off(env.scrape()), scenario.resolve_timeout)
    result.cleared = None if cleared is None else time.time() - t1
    if cleared is None:
        result.problem("the signal did not clear after the cause was removed")
    expected_names = {n for n, _ in scenario.expected}
    resolved = wait_until(lambda: not any(env.alerts.is_firing(n) for n in expected_names),
                          scenario.resolve_timeout, step=0.5)
    if resolved is None:
        result.problem(f"{sorted(expected_names)} still firing {scenario.resolve_timeout:.0f}s "
                       "after the cause was removed")
    else:
        result.resolved = time.time() - t1
    time.sleep(1)
    for alert in sorted(env.alerts.fired_since(t0)):
        name = alert[0]
        if name in expected_names:
            continue
        if name in scenario.tolerated:
            result.tolerated.add(alert)
        elif name in lingering:
            result.note(f"{name} was still firing from before")
        elif (scenario.name, name) in KNOWN_BUGS:
            result.known.add(alert)
            result.note(f"known bug: {name} fired: {KNOWN_BUGS[(scenario.name, name)]}")
        else:
            result.unexpected.add(alert)
            result.problem(f"{name} ({alert[1]}) fired, which this incident does not explain")
    for name in sorted(expected_names):
        result.routes[name] = env.webhook.receivers(name, t0)
    result.seconds = time.time() - t0
    still = settle(env)
    if still:
        result.note(f"still firing {60}s after: {still}")
    return result


# ---------------------------------------------------------------- the table
def fmt_polls(seconds):
    if seconds is None:
        return "**no**"
    return f"{seconds / INTERVAL:.1f}"


def fmt_seconds(seconds):
    return "—" if seconds is None else f"{seconds:.0f} s"


def table(results, args, elapsed):
    lines = [
        f"Run: `tests/scenarios/run.sh{' --short' if args.short else ''}`, "
        f"{time.strftime('%Y-%m-%d')}, {elapsed / 60:.1f} min; pgpulse polls every "
        f"{INTERVAL:g} s; rules time-compressed x{RULE_TIME_FACTOR} (for: 5m is 5 s).",
        "",
        "| Scenario | Incident | pgpulse signal | Detected (polls) | Alert (severity, after) "
        "| Routed to | check / --daemon (expected) | Resolved after | Other alerts | Result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.scenario
        if s.expected:
            alerts = "<br>".join(
                f"{n} ({sev}, {r.alerts[(n, sev)]:.0f} s)" if (n, sev) in r.alerts
                else f"**{n} ({sev}) did not fire**" for n, sev in s.expected)
            routed = "<br>".join(f"{n}: {', '.join(v) or '—'}" for n, v in r.routes.items())
            detected = fmt_polls(r.detected) + (
                f" (after the {s.threshold:.0f} s threshold)" if s.threshold else "")
            signal = f"`{s.signal}`"
        else:
            alerts, routed, detected, signal = "none expected", "—", "—", "—"
        codes = f"{r.check[0]} / {r.check_daemon[0]} ({s.check_expected[0]} / " \
                f"{s.check_expected[1]})"
        others = []
        others += [f"{n} ({sev}): tolerated" for n, sev in sorted(r.tolerated)]
        others += [f"**{n} ({sev}): known bug**" for n, sev in sorted(r.known)]
        others += [f"**{n} ({sev}): unexpected**" for n, sev in sorted(r.unexpected)]
        resolved = "—" if not s.expected else (
            f"{fmt_seconds(r.resolved)} (signal {fmt_seconds(r.cleared)})")
        verdict = "PASS" if not r.problems else "**FAIL**"
        lines.append(f"| {s.title} | {s.incident} | {signal} | {detected} | {alerts} | {routed} "
                     f"| {codes} | {resolved} | {'<br>'.join(others) or 'none'} | {verdict} |")
    lines.append("")
    lines.append("Notes:")
    lines.append("")
    for r in results:
        for note in r.notes:
            lines.append(f"- {r.scenario.title}: {note}")
        for problem in r.problems:
            lines.append(f"- {r.scenario.title}: **problem: {problem}**")
        for name, why in sorted(r.scenario.tolerated.items()):
            if any(n == name for n, _ in r.tolerated):
                lines.append(f"- {r.scenario.title}: {name} tolerated: {why}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI's subset, about 3.5 minutes")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--strict", action="store_true", help="known bugs fail the run too")
    parser.add_argument("--keep-logs", help="copy every log here at the end")
    args = parser.parse_args()

    def terminate(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    started = time.time()
    env = Environment(args)
    results = []
    try:
        env.start_postgres()
        env.start_proxy()
        env.start_pgpulse()
        env.start_alerting()
        for name in REPLICAS:
            env.start_replica(name)
        log("warming up: pools fill, pgpulse's trend window and Prometheus get their first "
            "samples")
        wait_until(lambda: env.scrape().sum("pgpulse_pool_connections") >= 8, 30)
        time.sleep(duration_seconds(IDLE_TREND_WINDOW) + 2)
        warm = sorted(env.alerts.fired_since(started))
        if warm:
            log(f"  alerts during warm-up: {warm}")
        results.append(quiet_phase(env, "healthy", "Healthy load",
                                   "3 web replicas, 2 workers, reports: SQLAlchemy pools per "
                                   "replica, each from its own address",
                                   20 if args.short else 180))
        if warm:
            results[-1].problem(f"alerts fired while the pools warmed up: {warm}")
        only = set(args.only.split(",")) if args.only else None
        for cls in SCENARIOS:
            scenario = cls(args)
            if only is not None and scenario.name not in only:
                continue
            if only is None and args.short and not scenario.short:
                continue
            results.append(run_scenario(env, scenario))
        results.append(quiet_phase(env, "recovered", "After the incidents",
                                   "the same load again, after the last incident "
                                   "(30 s: the compressed half hour of rule windows)",
                                   30 if args.short else 35))
    except KeyboardInterrupt:
        log("interrupted")
        results.append(None)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        results.append(None)
    finally:
        env.close(args.keep_logs)
    elapsed = time.time() - started
    broken = results and results[-1] is None
    results = [r for r in results if r is not None]
    text = table(results, args, elapsed)
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    failed = [r.scenario.title for r in results if r.problems]
    known = [r.scenario.title for r in results if r.known]
    print(f"scenarios: {len(results) - len(failed)} passed, {len(failed)} failed "
          f"in {elapsed:.0f}s" + (f"; known bugs in {known}" if known else ""))
    if broken or failed or (args.strict and known):
        sys.exit(1)


if __name__ == "__main__":
    main()
