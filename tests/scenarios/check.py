#!/usr/bin/env python3
"""Replays the labelled scenarios (scenarios.yaml, traces/*.awtrace) through
agentwatchd --replay (the whole pipeline, offline, deterministic) and
reports, per detection family, the recall of the intended rules, and the
false positives on benign traces; then the same per stack: per MCP server
framework and per client library (a scenario's `stack: {server, client}`,
the official SDK v1, "sdk", where it names none).

  check.py --bindir build/bin [--check] [--json] [NAME...]

With --check it exits 1 when an attack scenario misses a rule it expects,
or a benign scenario raises an alert of medium severity or above.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
DEFAULT_STACK = {"server": "sdk", "client": "sdk"}


def replay(bindir, sc, tmp):
    d = os.path.join(tmp, sc["name"])
    os.makedirs(os.path.join(d, "rules.d"))
    cfg = os.path.join(d, "agentwatch.yaml")
    with open(cfg, "w") as f:
        f.write(sc.get("config", "") or "{}\n")
    if sc.get("rules"):
        with open(os.path.join(d, "rules.d", "50-scenario.yaml"), "w") as f:
            f.write(sc["rules"])
    trace = os.path.join(HERE, "traces", sc["name"] + ".awtrace")
    r = subprocess.run([os.path.join(bindir, "agentwatchd"), "--config", cfg,
                        "--rules-dir", os.path.join(d, "rules.d"), "--state-dir", d,
                        "--log-level", "warn", "--replay", trace],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"{sc['name']}: replay failed ({r.returncode}): {r.stderr[-2000:]}")
    alerts = {}
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        if ev.get("type") == "EVENT_TYPE_ALERT":
            a = ev["alert"]
            alerts[a["id"]] = a  # the latest version (folded repeats raise the count)
    return list(alerts.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    with open(os.path.join(HERE, "scenarios.yaml")) as f:
        scenarios = yaml.safe_load(f)["scenarios"]
    if args.names:
        scenarios = [s for s in scenarios if s["name"] in args.names]
    results = []
    with tempfile.TemporaryDirectory(prefix="aw-scenarios-") as tmp:
        for sc in scenarios:
            alerts = replay(args.bindir, sc, tmp)
            got = {a["rule_id"] for a in alerts}
            res = {"name": sc["name"], "kind": sc["kind"], "family": sc.get("family"),
                   "stack": {**DEFAULT_STACK, **(sc.get("stack") or {})},
                   "expect": sc.get("expect", []),
                   "alerts": sorted({(a["rule_id"], a["severity"]) for a in alerts})}
            if sc["kind"] == "attack":
                res["missed"] = [r for r in sc["expect"] if r not in got]
                res["other"] = sorted(r for r in got if r not in sc["expect"])
            else:
                res["false_positives"] = sorted(
                    {f"{a['rule_id']} ({a['severity']})" for a in alerts
                     if RANK.get(a["severity"], 0) >= RANK["medium"]})
                res["low"] = sorted({a["rule_id"] for a in alerts
                                     if RANK.get(a["severity"], 0) < RANK["medium"]})
            results.append(res)

    failed = False
    if args.json:
        print(json.dumps(results, indent=1))
    by_family = collections.defaultdict(lambda: [0, 0, 0, 0])  # scenarios, caught, rules, hit
    for r in results:
        if r["kind"] != "attack":
            continue
        f = by_family[r["family"]]
        f[0] += 1
        f[1] += not r["missed"]
        f[2] += len(r["expect"])
        f[3] += len(r["expect"]) - len(r["missed"])
    out = sys.stderr if args.json else sys.stdout
    print(f"{'SCENARIO':<34} {'KIND':<7} RESULT", file=out)
    for r in results:
        if r["kind"] == "attack":
            status = "ok" if not r["missed"] else "MISSED " + ", ".join(r["missed"])
            if r["other"]:
                status += "  (also: " + ", ".join(r["other"]) + ")"
        else:
            status = "ok" if not r["false_positives"] else \
                "FALSE POSITIVE " + ", ".join(r["false_positives"])
            if r["low"]:
                status += "  (low: " + ", ".join(r["low"]) + ")"
        failed = failed or status.startswith(("MISSED", "FALSE"))
        print(f"{r['name']:<34} {r['kind']:<7} {status}", file=out)
    print(f"\n{'FAMILY':<8} {'SCENARIOS':>9} {'CAUGHT':>7} {'RULE RECALL':>12}", file=out)
    for fam in sorted(by_family):
        n, caught, rules, hit = by_family[fam]
        print(f"{fam:<8} {n:>9} {caught:>7} {hit:>6}/{rules:<3} {100.0 * hit / rules:5.1f}%",
              file=out)
    for side, title in (("server", "SERVER FRAMEWORK"), ("client", "CLIENT LIBRARY")):
        by_stack = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
        # attacks, caught, rules, hit, benign, clean
        for r in results:
            f = by_stack[r["stack"][side]]
            if r["kind"] == "attack":
                f[0] += 1
                f[1] += not r["missed"]
                f[2] += len(r["expect"])
                f[3] += len(r["expect"]) - len(r["missed"])
            else:
                f[4] += 1
                f[5] += not r["false_positives"]
        print(f"\n{title:<16} {'ATTACKS':>7} {'CAUGHT':>7} {'RULE RECALL':>12} {'BENIGN':>7} "
              f"{'CLEAN':>6}", file=out)
        for name in sorted(by_stack):
            a, caught, rules, hit, b, clean = by_stack[name]
            recall = f"{hit:>6}/{rules:<3} {100.0 * hit / rules:5.1f}%" if rules else f"{'-':>12}"
            print(f"{name:<16} {a:>7} {caught:>7} {recall:>12} {b:>7} {clean:>6}", file=out)
    attacks = [r for r in results if r["kind"] == "attack"]
    benign = [r for r in results if r["kind"] == "benign"]
    rules = sum(len(r["expect"]) for r in attacks)
    hit = rules - sum(len(r["missed"]) for r in attacks)
    fps = sum(1 for r in benign if r["false_positives"])
    print(f"\nrecall {hit}/{rules} expected alerts over {len(attacks)} attack scenarios; "
          f"{fps}/{len(benign)} benign scenarios with medium+ alerts", file=out)
    return 1 if (failed and args.check) else 0


if __name__ == "__main__":
    raise SystemExit(main())
