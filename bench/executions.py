#!/usr/bin/env python3
"""Queue drain and execution checks for bench/run.sh and bench/delivery.sh (standard library only).

  The admin token is read from the environment variable BENCH_ADMIN_TOKEN.

  executions.py drain  --base URL [--slug S] [--t0 EPOCH] [--timeout SECS]
      Polls GET /api/v1/executions?integration=S&status=queued&limit=1 (then status=running)
      until both are empty (without --slug: over every integration). Prints
      `DRAIN ok=1 seconds=F polls=N` (ok=0 on timeout), seconds counted from --t0 (Unix time,
      e.g. the end of the load) or from the start of polling.

  executions.py verify --base URL --slug S [--since EPOCH] [--ended EPOCH] [--ordered]
      Pages through GET /api/v1/executions?integration=S&limit=500&cursor=... and prints
      `VERIFY key=value ...`: counts by status, and for the executions received at or after
      --since (the measured run) their processing rate, and with --ended (end of the load)
      the rate at which the backlog left at that moment was worked off. With --ordered it also checks strict
      order: sorted by sequence, started_at and finished_at never go backwards, no execution
      starts before the previous one finished, sequences are unique, and every execution
      succeeded. received_at going backwards is counted (with the largest step back) but not a
      violation: calls arriving at once on different connections have no defined order.
      A human-readable account of violations goes to stderr. `attempts_gt1` counts executions
      that ran more than once (`attempts` > 1), `attempts_max` is the largest `attempts`.

  executions.py verify-many --base URL --slugs S1,S2,... [--since EPOCH] [--ended EPOCH] [--ordered]
      The same over several integrations (e.g. one ordered lane each), read in one pass over
      GET /api/v1/executions?limit=500&cursor=... (with one slug: filtered by it). Counts,
      statuses, attempts and the processing rate are aggregated (executions of the measured
      run / (last finish - first start) across all of them); with --ordered strict order is
      checked per integration and the counters summed (`lanes`, `lanes_order_ok`). Also
      `lane_measured_min` / `lane_measured_max`: the fewest and most executions one
      integration got in the measured run.

  executions.py verify-many ... --by-lane
      The same, but a lane is one lane key of an integration (`lane_key` of each execution in
      the list; absent or null: the integration's unkeyed lane, the empty key), for an ordered
      trigger with `trigger.lane_key`: executions are grouped by (integration, lane_key) and
      with --ordered strict order is checked per key. The sequence counts per integration, so
      one key's sequences have gaps; gaps are counted (`sequence_gaps`) but, as always, no
      violation, while duplicates, overlaps and started_at / finished_at going backwards are.
      `lanes` is the number of distinct lanes (keys) seen, `lanes_order_ok` how many of them
      are in order, `lane_measured_min` / `lane_measured_max` the fewest and most executions
      one key got in the measured run, `unkeyed` the executions without a lane key.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

PAGE_LIMIT = 500
MAX_PAGES = 20000

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})$"
)


def parse_ts(value):
    """RFC 3339 -> Unix seconds (float), or None."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, off = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    secs = dt.timestamp()
    if frac:
        secs += int(frac) / (10 ** len(frac))
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        digits = off[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return secs


def get_json(base, token, path, params):
    url = base.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        body = e.read(500).decode("utf-8", "replace")
        raise SystemExit(f"executions.py: GET {url} -> {e.code}: {body}")
    except (urllib.error.URLError, OSError) as e:
        raise SystemExit(f"executions.py: GET {url} failed: {e}")


def items_of(page, url_hint):
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise SystemExit(f"executions.py: {url_hint}: answer has no `items` list: {str(page)[:300]}")
    return items


def cmd_drain(args):
    scope = {} if args.slug is None else {"integration": args.slug}
    start = time.monotonic()
    deadline = start + args.timeout
    t0 = args.t0 if args.t0 is not None else time.time()
    polls = 0
    while True:
        busy = False
        for status in ("queued", "running"):
            polls += 1
            page = get_json(
                args.base, args.token, "/api/v1/executions",
                dict(scope, status=status, limit=1),
            )
            if items_of(page, "executions?status=" + status):
                busy = True
                break
        elapsed = time.time() - t0
        if not busy:
            print(f"DRAIN ok=1 seconds={elapsed:.3f} polls={polls}")
            return 0
        if time.monotonic() >= deadline:
            print(f"DRAIN ok=0 seconds={elapsed:.3f} polls={polls}")
            return 0
        time.sleep(0.1)


def fetch_all(args, integration=None):
    """Every execution of one integration (or of all, with integration None), newest first."""
    items, cursor, seen_cursors = [], None, set()
    for _ in range(MAX_PAGES):
        params = {"limit": PAGE_LIMIT}
        if integration is not None:
            params["integration"] = integration
        if cursor is not None:
            params["cursor"] = cursor
        page = get_json(args.base, args.token, "/api/v1/executions", params)
        batch = items_of(page, "executions")
        items.extend(batch)
        cursor = page.get("next_cursor")
        if not batch or cursor in (None, ""):
            return items
        if cursor in seen_cursors:
            raise SystemExit(f"executions.py: cursor {cursor!r} repeated; paging does not advance")
        seen_cursors.add(cursor)
    raise SystemExit(f"executions.py: more than {MAX_PAGES} pages; giving up")


def dedupe(raw):
    by_id, duplicates = {}, 0
    for it in raw:
        key = it.get("id")
        if key in by_id:
            duplicates += 1
        by_id[key] = it
    return list(by_id.values()), duplicates


def summarize(execs, duplicates, args):
    """Counts, statuses, attempts and rates over `execs` (one or several integrations)."""
    by_status = {}
    for it in execs:
        by_status[it.get("status")] = by_status.get(it.get("status"), 0) + 1
    succeeded = by_status.get("succeeded", 0)

    attempts = [it.get("attempts") for it in execs]
    out = {
        "total": len(execs),
        "page_duplicates": duplicates,
        "succeeded": succeeded,
        "not_succeeded": len(execs) - succeeded,
        "statuses": ",".join(f"{k}:{v}" for k, v in sorted(by_status.items(), key=str)),
        "attempts_gt1": sum(1 for a in attempts if isinstance(a, int) and a > 1),
        "attempts_missing": sum(1 for a in attempts if not isinstance(a, int)),
        "attempts_max": max((a for a in attempts if isinstance(a, int)), default=0),
    }

    # The measured run: executions received at or after --since.
    main = execs
    if args.since is not None:
        main = [it for it in execs if (parse_ts(it.get("received_at")) or 0) >= args.since]
    out["measured"] = len(main)
    starts = [t for t in (parse_ts(it.get("started_at")) for it in main) if t is not None]
    ends = [t for t in (parse_ts(it.get("finished_at")) for it in main) if t is not None]
    recv = [t for t in (parse_ts(it.get("received_at")) for it in main) if t is not None]
    if starts and ends and max(ends) > min(starts):
        span = max(ends) - min(starts)
        out["processing_span_s"] = f"{span:.3f}"
        out["processed_per_s"] = f"{len(ends) / span:.1f}"
    else:
        out["processing_span_s"] = "0"
        out["processed_per_s"] = "0"
    if recv and ends:
        lag = max(ends) - max(recv)
        out["last_finish_after_last_receive_s"] = f"{lag:.3f}"
    # The backlog left when the load ended, worked off with no new arrivals: the workers'
    # capacity (only meaningful when there was a backlog worth measuring).
    if args.ended is not None:
        late = [t for t in ends if t > args.ended]
        out["finished_after_load"] = len(late)
        if len(late) >= 100 and max(late) > args.ended:
            out["backlog_rate_per_s"] = f"{len(late) / (max(late) - args.ended):.1f}"
        else:
            out["backlog_rate_per_s"] = "-"
    return out, main


def cmd_verify(args):
    execs, duplicates = dedupe(fetch_all(args, args.slug))
    out, _ = summarize(execs, duplicates, args)
    ok = duplicates == 0
    if args.ordered:
        order = check_order(execs)
        out.update(order)
        ok = ok and order["order_ok"] == 1
    out["ok"] = 1 if ok else 0

    print("VERIFY " + " ".join(f"{k}={v}" for k, v in out.items()))
    return 0


def cmd_verify_many(args):
    slugs = list(dict.fromkeys(s for s in args.slugs.split(",") if s))
    if not slugs:
        raise SystemExit("executions.py: --slugs names no integration")
    wanted = set(slugs)
    raw = fetch_all(args, slugs[0] if len(slugs) == 1 else None)
    execs, duplicates = dedupe(raw)
    groups = {s: [] for s in slugs}
    for it in execs:
        if it.get("integration") in wanted:
            groups[it["integration"]].append(it)
    mine = [it for s in slugs for it in groups[s]]
    out, main = summarize(mine, duplicates, args)
    # The lanes: one per integration, or with --by-lane one per (integration, lane key).
    if args.by_lane:
        lanes = {}
        for it in mine:
            lanes.setdefault(lane_of(it), []).append(it)
        out["unkeyed"] = sum(1 for it in mine if lane_of(it)[1] == "")
    else:
        lanes = {(s, ""): groups[s] for s in slugs}
    out["lanes"] = len(lanes)
    out["lanes_without_executions"] = sum(1 for s in slugs if not groups[s])
    per_lane = {lane: 0 for lane in lanes}
    for it in main:
        per_lane[lane_of(it) if args.by_lane else (it["integration"], "")] += 1
    out["lane_measured_min"] = min(per_lane.values(), default=0)
    out["lane_measured_max"] = max(per_lane.values(), default=0)

    ok = duplicates == 0 and out["lanes_without_executions"] == 0
    if args.ordered:
        sums, lanes_ok, worst_recv = {}, 0, 0.0
        for (s, key), lane in sorted(lanes.items()):
            order = check_order(lane, label=f"{s} lane key {key!r}" if args.by_lane else s)
            lanes_ok += order["order_ok"]
            worst_recv = max(worst_recv, float(order.pop("received_backwards_max_ms")))
            for k, v in order.items():
                if k != "order_ok":
                    sums[k] = sums.get(k, 0) + v
        out.update(sums)
        out["received_backwards_max_ms"] = f"{worst_recv:.3f}"
        out["lanes_order_ok"] = lanes_ok
        out["order_ok"] = 1 if lanes and lanes_ok == len(lanes) else 0
        ok = ok and out["order_ok"] == 1
    out["ok"] = 1 if ok else 0

    print("VERIFY " + " ".join(f"{k}={v}" for k, v in out.items()))
    return 0


def lane_of(it):
    """(integration, lane key) of an execution; the unkeyed lane is the empty key."""
    key = it.get("lane_key")
    return it.get("integration"), key if isinstance(key, str) else ""


def check_order(execs, label=None):
    """Strict order over every execution of an ordered trigger (warm-up included)."""
    res = {
        "no_sequence": 0,
        "dup_sequence": 0,
        "sequence_gaps": 0,
        "missing_times": 0,
        "received_backwards": 0,
        "received_backwards_max_ms": 0.0,
        "started_backwards": 0,
        "finished_backwards": 0,
        "overlaps": 0,
        "order_not_succeeded": 0,
    }
    with_seq = []
    for it in execs:
        if isinstance(it.get("sequence"), int):
            with_seq.append(it)
        else:
            res["no_sequence"] += 1
    with_seq.sort(key=lambda it: it["sequence"])
    examples = []
    prev = None
    for it in with_seq:
        if it.get("status") != "succeeded":
            res["order_not_succeeded"] += 1
        r, s, f = (parse_ts(it.get(k)) for k in ("received_at", "started_at", "finished_at"))
        if r is None or s is None or f is None:
            res["missing_times"] += 1
            prev = None
            continue
        cur = (it["sequence"], r, s, f, it.get("id"))
        if prev is not None:
            pseq, pr, ps, pf, pid = prev
            if cur[0] == pseq:
                res["dup_sequence"] += 1
            elif cur[0] != pseq + 1:
                res["sequence_gaps"] += 1
            problems = []
            if r < pr:
                # Calls arriving at the same moment on different connections have no defined
                # order; their received_at stamps (taken on different threads) may disagree
                # with the sequence by a little. Reported, not a violation.
                res["received_backwards"] += 1
                res["received_backwards_max_ms"] = max(res["received_backwards_max_ms"], (pr - r) * 1000)
            if s < ps:
                res["started_backwards"] += 1
                problems.append("started_at")
            if f < pf:
                res["finished_backwards"] += 1
                problems.append("finished_at")
            if s < pf:
                res["overlaps"] += 1
                problems.append("started before previous finished")
            if problems and len(examples) < 5:
                examples.append(f"seq {pseq}->{cur[0]} ({pid} -> {cur[4]}): {', '.join(problems)}")
        prev = cur
    res["sequenced"] = len(with_seq)
    res["received_backwards_max_ms"] = f'{res["received_backwards_max_ms"]:.3f}'
    bad = (
        res["no_sequence"] + res["dup_sequence"] + res["missing_times"]
        + res["started_backwards"] + res["finished_backwards"] + res["overlaps"]
        + res["order_not_succeeded"]
    )
    res["order_ok"] = 1 if bad == 0 and with_seq else 0
    for line in examples:
        where = f" in {label}" if label else ""
        print(f"executions.py: order violation{where}: " + line, file=sys.stderr)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("drain", "verify", "verify-many"):
        s = sub.add_parser(name)
        s.add_argument("--base", required=True)
        if name == "drain":
            s.add_argument("--slug", default=None)
            s.add_argument("--t0", type=float, default=None)
            s.add_argument("--timeout", type=float, default=300.0)
        else:
            if name == "verify":
                s.add_argument("--slug", required=True)
            else:
                s.add_argument("--slugs", required=True)
            s.add_argument("--since", type=float, default=None)
            s.add_argument("--ended", type=float, default=None)
            s.add_argument("--ordered", action="store_true")
            if name == "verify-many":
                s.add_argument("--by-lane", action="store_true",
                               help="one lane per lane key (trigger.lane_key), not per integration")
    args = p.parse_args()
    args.token = os.environ.get("BENCH_ADMIN_TOKEN", "")
    if not args.token:
        raise SystemExit("executions.py: BENCH_ADMIN_TOKEN is not set")
    commands = {"drain": cmd_drain, "verify": cmd_verify, "verify-many": cmd_verify_many}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
