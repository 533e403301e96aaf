"""results_hunt - the `wedge hunt` part of scripts/results.

For each race (the shop's, counterd's and the two tests/hunt services'):
`wedge hunt` with the scenario's rules left out, under a light load and a
budget of 20 runs; the found-1.scn it writes replayed with `wedge run
--repeat 20`; and, as the baseline, the same scenario (hunt's own
observe.scn without its log rules) run with no rule and with random delays
alone.  Each correct twin is hunted the same way and must come out exit 0.

    run_all(wedge, out, seeds, log) -> hunts
    write_section(w, hunts)         the document's section (w appends a line)
    splice(doc_path, hunts)         replace that section in an existing document

No figure is typed by hand: all come from summary.json and outcomes.tsv.
"""
import json
import os
import re
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = "## Found by `wedge hunt`, with no rule written"
BUDGET = "20"
# The light load of issue 10's acceptance for the shop's and counterd's
# scenarios; the tests/hunt services carry a light load of their own.
LIGHT = ["--users", "2", "--rate", "20"]
# Random delays as the issue measured them: jitter on statements, sockets
# and locks, aimed at nothing.
RANDOM = ("jitter-sql: delay 0ms..5ms on pq.query p=0.5 ; "
          "jitter-sock: delay 0ms..2ms on sock.* p=0.3 ; jitter-lock: yield on mutex.* p=0.5")

RACES = [
    ("oversell", "scenarios/shop/oversell-naive.scn",
     ["scenarios/shop/oversell-pessimistic.scn", "scenarios/shop/oversell-optimistic.scn",
      "scenarios/shop/oversell-atomic.scn"], LIGHT),
    ("lost update", "scenarios/shop/lost-update-naive.scn",
     ["scenarios/shop/lost-update-pessimistic.scn", "scenarios/shop/lost-update-optimistic.scn",
      "scenarios/shop/lost-update-atomic.scn"], LIGHT),
    ("double-submitted payment", "scenarios/shop/payment-double-submit-naive.scn",
     ["scenarios/shop/payment-double-submit-idempotent.scn"], LIGHT),
    ("double-delivered event", "scenarios/shop/events-naive.scn",
     ["scenarios/shop/events-skip-locked.scn"], LIGHT),
    ("counterd read-modify-write", "tests/e2e/scenarios/rmw-naive.scn",
     ["tests/e2e/scenarios/rmw-safe.scn"], LIGHT),
    ("lock-order inversion", "tests/hunt/lockorder-naive.scn",
     ["tests/hunt/lockorder-fixed.scn"], []),
    ("check-then-act, two critical sections", "tests/hunt/ctact-naive.scn",
     ["tests/hunt/ctact-fixed.scn"], []),
]


def _json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _repeat_fails(path):
    """Runs of a --repeat that failed (exit 1), and how many ran."""
    try:
        with open(path) as f:
            rows = [r.split("\t") for r in f.read().splitlines()[1:]]
    except OSError:
        return 0, 0
    return sum(1 for r in rows if len(r) > 2 and r[2] == "1"), len(rows)


def hunt(wedge, scn, out, load, log):
    """One `wedge hunt`: its summary.json with the wall time added."""
    cmd = [wedge, "hunt", os.path.join(ROOT, scn), "--no-rules", "--budget", BUDGET,
           "--seed", "1", "--out", out, "-q"] + load
    t0 = time.time()
    with open(out + ".log", "w") as lf:
        rc = subprocess.call(cmd, stdout=lf, stderr=subprocess.STDOUT)
    s = _json(os.path.join(out, "summary.json")) or {"runs": 0, "found": [], "candidates": []}
    s["exit"] = rc
    s["wall"] = time.time() - t0
    log("hunt %s: exit %d, %d runs, %.0f s" % (os.path.basename(scn), rc, s["runs"], s["wall"]))
    return s


def repeat(wedge, scn, n, out, log):
    """`wedge run SCN --repeat n --seed 1`: (failed runs, runs)."""
    cmd = [wedge, "run", scn, "--repeat", str(n), "--seed", "1", "--out", out, "-q"]
    with open(out + ".log", "w") as lf:
        subprocess.call(cmd, stdout=lf, stderr=subprocess.STDOUT)
    f, t = _repeat_fails(os.path.join(out, "outcomes.tsv"))
    log("%s --repeat %d: %d failed" % (os.path.basename(scn), n, f))
    return f, t


def baseline(hunt_dir, rules):
    """Hunt's observe.scn without its log rules (rules: what instead, or
    None): the scenario as hunted, its paths absolute and its load set."""
    src = os.path.join(hunt_dir, "observe.scn")
    if not os.path.exists(src):
        return None
    with open(src) as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        if re.match(r"rules = .*hunt-obs-sql: log on pq\.query", line):
            if rules:
                out.append("rules = " + rules)
            continue
        out.append(line)
    dst = os.path.join(hunt_dir, "baseline-%s.scn" % ("random" if rules else "plain"))
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")
    return dst


def run_all(wedge, out, seeds, log):
    hunts = []
    for title, naive, twins, load in RACES:
        key = os.path.basename(naive)[:-4]
        d = os.path.join(out, "hunt-" + key)
        row = {"title": title, "scenario": naive, "load": load, "hunt": hunt(wedge, naive, d, load,
                                                                            log)}
        found = row["hunt"].get("found") or []
        if found:
            row["replay"] = repeat(wedge, found[0]["file"], 20, d + "-replay", log)
        for mode, rules in (("plain", None), ("random", RANDOM)):
            b = baseline(d, rules)
            row[mode] = repeat(wedge, b, seeds, d + "-" + mode, log) if b else (0, 0)
        row["twins"] = [(t, hunt(wedge, t, os.path.join(out, "hunt-" + os.path.basename(t)[:-4]),
                                 load, log)) for t in twins]
        hunts.append(row)
    return hunts


def _kind(s):
    f = (s.get("found") or [None])[0]
    if not f:
        return "-"
    c = [c for c in s["candidates"] if c["rank"] == f["candidate"]]
    return c[0]["kind"] if c else "?"


def write_section(w, hunts, stamp=None):
    w(HEADING)
    w("")
    if stamp:
        w(stamp)
        w("")
    w("`wedge hunt SCENARIO --no-rules --budget %s --seed 1`: the scenario's own rules left "
      "out, so nothing says where the window is; hunt observes one run, ranks candidate rules "
      "and confirms them on 3 seeds (docs/hunt.md).  The shop's and counterd's scenarios run "
      "under `%s` (an arrival every 50 ms), the tests/hunt services under their own light "
      "load (20/s).  *runs* counts every run of the hunt (observing, confirming, the check "
      "without the rule, shrinking); *seconds* is its wall time, a throwaway PostgreSQL "
      "included.  The baselines run the same scenario under the same load: no rule, and random "
      "delays alone (`%s`)." % (BUDGET, " ".join(LIGHT), RANDOM))
    w("")
    w("| race | scenario | hunt | runs | seconds | window | found-1.scn, --repeat 20 | "
      "random delays | no rule |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in hunts:
        h = r["hunt"]
        rep = r.get("replay")
        w("| %s | `%s` | %s | %d | %.0f | %s | %s | %d / %d | %d / %d |" % (
            r["title"], r["scenario"], "found" if h["exit"] == 1 else "exit %d" % h["exit"],
            h["runs"], h["wall"], _kind(h), "%d / %d failed" % rep if rep else "-",
            r["random"][0], r["random"][1], r["plain"][0], r["plain"][1]))
    w("")
    found = [r for r in hunts if r["hunt"]["exit"] == 1]
    replays = [r["replay"] for r in found if r.get("replay")]
    twins = [h for r in hunts for _, h in r["twins"]]
    if found:
        w("Found %d of %d races, each within %d runs and %.0f s; %d of the %d found-1.scn failed "
          "every one of their 20 runs; %d of the %d correct twins came out exit 0." % (
              len(found), len(hunts), max(r["hunt"]["runs"] for r in found),
              max(r["hunt"]["wall"] for r in found),
              sum(1 for f, t in replays if t and f == t), len(replays),
              sum(1 for h in twins if h["exit"] == 0), len(twins)))
        w("")
    w("The rule each hunt handed over (after shrinking):")
    w("")
    for r in hunts:
        for f in r["hunt"].get("found") or []:
            w("- %s: `%s`" % (r["title"], f["rule"]))
    w("")
    w("The correct twins, hunted the same way (exit 0: every candidate tried held):")
    w("")
    w("| twin | hunt | runs | seconds | candidates tried (held) |")
    w("|---|---|---|---|---|")
    for r in hunts:
        for scn, h in r["twins"]:
            held = sum(1 for c in h.get("candidates", []) if c["outcome"] == "held")
            w("| `%s` | exit %d | %d | %.0f | %d |" % (scn, h["exit"], h["runs"], h["wall"], held))
    w("")


def splice(doc, hunts):
    """Put the section into an existing document: in place of the old one,
    else before the stock strategies' section."""
    lines = []
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    write_section(lines.append, hunts, "This section was regenerated alone by `scripts/results "
                  "--hunt-only` on %s (commit %s)." % (
                      time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit))
    section = "\n".join(lines).rstrip("\n") + "\n\n"
    with open(doc) as f:
        text = f.read()
    start = text.find(HEADING)
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        at = text.find("## Stock strategies")
        text = text[:at] + section + "\n" + text[at:] if at >= 0 else text + "\n" + section
    with open(doc, "w") as f:
        f.write(text)
