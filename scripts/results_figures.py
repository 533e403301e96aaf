"""The figures of docs/concurrent_testing_results.md, drawn by wedge itself.

scripts/results imports this module.  Every figure is an SVG written by
`wedge report --svg KIND IN` (runner/report/svg.c, the code that draws
report.html), from a small JSON document made here; nothing is drawn in
Python, so no figure has two drawing programs.

The numbers come from the document's own tables (amplification, strategies,
soak), so a figure shows exactly what the page states.  A full run of
scripts/results passes the soak's whole time series; `scripts/results
--figures` redraws every figure from the committed page alone (the soak
from the samples its table lists), with no run.
"""
import json
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
SOAK = os.path.join(DOCS, "concurrent_testing_soak.svg")
STRATEGIES = os.path.join(DOCS, "concurrent_testing_strategies.svg")
AMPLIFICATION = os.path.join(DOCS, "concurrent_testing_amplification.svg")

AMP_HEAD = "| race | scenario | no rule | random delays | targeted rule |"
STRAT_HEAD = "| mix | strategy | isolation | req/s | p50 ms | p99 ms |"
SOAK_HEAD = "| t (s) | req/s | p50 ms | p99 ms | errors | RSS KiB |"
MODES = ["no rule", "random delays", "targeted rule"]


def tables(text):
    """Every Markdown table of text: (header line, [rows of cells])."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            head, rows, i = lines[i], [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            out.append((head, rows))
        else:
            i += 1
    return out


def find(text, head):
    """The tables whose header starts with head, in document order."""
    return [rows for h, rows in tables(text) if h.startswith(head)]


def draw(wedge, kind, doc, path, work):
    """wedge report --svg KIND on doc (written to work) into path."""
    src = os.path.join(work, os.path.basename(path) + ".json")
    with open(src, "w") as f:
        json.dump(doc, f, indent=1)
    subprocess.check_call([wedge, "report", "--svg", kind, src, "--out", path])


def fraction(cell):
    """'7 / 10' -> 0.7; None when there were no runs."""
    try:
        k, n = (int(x) for x in cell.split("/"))
    except ValueError:
        return None
    return k / n if n else None


def amplification(text):
    panels = []
    for rows, title in zip(find(text, AMP_HEAD), ("Under the scenarios' own load",
                                                   "At low contention")):
        panels.append({"title": title, "percent": True,
                       "max": 1, "groups": [r[0] for r in rows], "keys": MODES,
                       "values": [[fraction(c) for c in r[2:5]] for r in rows]})
    return {"title": "Amplification: the share of runs in which the naive variant broke an "
                     "invariant, by what was injected",
            "panels": panels}


def number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def strategies(text):
    rows = find(text, STRAT_HEAD)[0]
    groups = list(dict.fromkeys(r[0] for r in rows))
    keys = list(dict.fromkeys(r[1] if r[2] == "read committed" else "%s, %s" % (r[1], r[2])
                              for r in rows))
    panels = []
    for col, title, unit in ((3, "Throughput", "req/s"), (5, "p99 latency", "ms"),
                             (8, "Transactions retried", None)):
        values = [[None] * len(keys) for _ in groups]
        for r in rows:
            key = r[1] if r[2] == "read committed" else "%s, %s" % (r[1], r[2])
            values[groups.index(r[0])][keys.index(key)] = number(r[col])
        panels.append({"title": title, "unit": unit, "groups": groups, "keys": keys,
                       "values": values})
    return {"title": "Stock strategies side by side (mix-*.scn, no shim rule)", "panels": panels}


def soak_from_table(text):
    """The soak's samples as the page's table lists them."""
    return [{"t_s": float(r[0]), "throughput": float(r[1]), "p50_ms": float(r[2]),
             "p99_ms": float(r[3]), "errors": int(r[4]), "rss_kb": float(r[5])}
            for r in find(text, SOAK_HEAD)[0]]


def draw_all(wedge, doc_path, work, soak_series=None, soak_duration=None):
    """Every figure of the page at doc_path; soak_series: the soak run's
    whole series (None: the samples of the page's table)."""
    with open(doc_path) as f:
        text = f.read()
    if soak_duration is None:
        m = re.search(r"soak\.scn --duration (\S+?)`", text)
        soak_duration = m.group(1) if m else "?"
    os.makedirs(work, exist_ok=True)
    draw(wedge, "bars", amplification(text), AMPLIFICATION, work)
    draw(wedge, "bars", strategies(text), STRATEGIES, work)
    title = "soak.scn, %s: throughput, p99 and RSS per second" % soak_duration
    if soak_series is None:
        soak_series = soak_from_table(text)
        title += " (the samples the table lists)"
    draw(wedge, "series", {"title": title, "series": soak_series}, SOAK, work)
    return [AMPLIFICATION, STRATEGIES, SOAK]
