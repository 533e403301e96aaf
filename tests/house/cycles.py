#!/usr/bin/env python3
"""No file calls back into a file that calls it (issue 11; style.md: "the
one below never knows the one above").

Reads the object files of each target (a list "TARGET<TAB>OBJECT" per
line, written by CMake from $<TARGET_OBJECTS>, so a stale object of a
deleted source never counts), and with nm finds which file uses a symbol
(function or data) another file of the same target defines.  Every
strongly connected component of more than one file in that graph is a
cycle: printed with the symbols that make each edge, and the test fails.

Symbols the system libraries define (libc, libpq: give them with
--exclude-lib) are no edge: the shim defines send, PQexec... as wrappers,
and a file that calls the real one through libc is not calling socket.c.

A cycle among (a subset of) the files of a line of --known (TARGET: FILE
FILE...) passes with a note: debt someone owns, listed where all can see
it; any other cycle fails.

    cycles.py OBJECT_LIST [--exclude-lib LIB]... [--known FILE]
    cycles.py --self-test     (a cycle of two files must be found)
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile

DEFINED = set("TDBRVWGS")  # text, data, bss, read-only, weak, small


def parse_nm(lines):
    """(defined, undefined) symbol names in nm's lines of one file."""
    defined, used = set(), set()
    for line in lines:
        p = line.split()
        if len(p) == 3 and p[1] in DEFINED:
            defined.add(p[2].split("@")[0])
        elif len(p) == 2 and p[0] == "U":
            used.add(p[1].split("@")[0])
    return defined, used


def nm_lib(path):
    """The symbols a shared library defines."""
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return parse_nm(out.splitlines())[0]


def nm_objects(paths):
    """{object: (defined, undefined)}, from one nm run (a process per
    object took tens of seconds on a loaded machine)."""
    out = subprocess.run(["nm"] + list(paths), capture_output=True, text=True,
                         check=True).stdout
    lines = collections.defaultdict(list)
    cur = paths[0] if len(paths) == 1 else None
    heads = {p + ":": p for p in paths}
    for line in out.splitlines():
        if line in heads:
            cur = heads[line]
        elif cur is not None:
            lines[cur].append(line)
    return {p: parse_nm(lines[p]) for p in paths}


def source_name(obj):
    """runner/scenario/scn.c for .../wedge_scenario.dir/scenario/scn.c.o"""
    name = obj.split(".dir/", 1)[-1]
    return name[:-2] if name.endswith(".o") else name


def graph(objects, excluded):
    """{target: {file: {other file: {symbols}}}} within each target."""
    defs = collections.defaultdict(lambda: collections.defaultdict(set))
    uses = collections.defaultdict(dict)
    syms = nm_objects(sorted({obj for _, obj in objects}))
    for target, obj in objects:
        d, u = syms[obj]
        f = source_name(obj)
        uses[target][f] = u
        for s in d - excluded:
            defs[target][s].add(f)
    g = {}
    for target, files in uses.items():
        edges = {f: collections.defaultdict(set) for f in files}
        for f, used in files.items():
            for s in used:
                for t in defs[target].get(s, ()):
                    if t != f:
                        edges[f][t].add(s)
        g[target] = edges
    return g


def sccs(edges):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def read_known(path):
    """[(target, {files})] from a --known file."""
    known = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            target, sep, files = line.partition(":")
            if not sep or not files.split():
                sys.exit("%s:%d: expected 'TARGET: FILE FILE...'" % (path, n))
            known.append((target.strip(), set(files.split())))
    return known


def check(objects, excluded, known=()):
    """(cycles, notes) as printable lines: cycles fail, notes are the
    known ones found and the known ones gone."""
    lines, notes, seen = [], [], set()
    for target, edges in sorted(graph(objects, excluded).items()):
        for comp in sccs(edges):
            k = [i for i, (t, files) in enumerate(known) if t == target and set(comp) <= files]
            out = notes if k else lines
            seen.update(k)
            out.append("%s: a call cycle%s: %s" %
                       (target, " (known, tests/house/known_cycles)" if k else "",
                        " <-> ".join(comp)))
            for f in comp:
                for t in sorted(edges[f]):
                    if t in comp:
                        out.append("    %s -> %s: %s" % (f, t, ", ".join(sorted(edges[f][t]))))
    for i, (target, files) in enumerate(known):
        if i not in seen:
            notes.append("%s: the known cycle among %s is gone: delete its line" %
                         (target, " ".join(sorted(files))))
    return lines, notes


def self_test():
    """Two files that call each other are a cycle; a third that only calls
    down is not part of it."""
    srcs = {
        "a.c": "int b(int); int a(int x) { return x ? b(x - 1) : 0; }\n",
        "b.c": "int a(int); int b(int x) { return a(x); }\n",
        "c.c": "int a(int); int c(void) { return a(3); }\n",
    }
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        objects = []
        for name, text in srcs.items():
            src = os.path.join(tmp, name)
            with open(src, "w") as f:
                f.write(text)
            obj = os.path.join(tmp, "t.dir", name + ".o")
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            subprocess.run([cc, "-c", src, "-o", obj], check=True)
            objects.append(("t", obj))
        found, _ = check(objects, set())
        if not found or found[0] != "t: a call cycle: a.c <-> b.c":
            print("self-test: the cycle a.c <-> b.c was not reported:", found)
            return 1
        if check(objects[2:], set())[0]:
            print("self-test: a single file reported as a cycle")
            return 1
        found, notes = check(objects, set(), [("t", {"a.c", "b.c", "x.c"})])
        if found or not notes[0].startswith("t: a call cycle (known"):
            print("self-test: a known cycle failed:", found, notes)
            return 1
        if not check(objects, set(), [("t", {"a.c"}), ("u", {"a.c", "b.c"})])[0]:
            print("self-test: a cycle beyond the known files passed")
            return 1
    print("self-test: a.c <-> b.c found, c.c left out; a known cycle passes, a larger one fails")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("objects", nargs="?", help="file of TARGET<TAB>OBJECT lines")
    ap.add_argument("--exclude-lib", action="append", default=[])
    ap.add_argument("--known", help="file of known cycles (TARGET: FILE FILE...)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.objects:
        ap.error("an object list is needed")
    objects = []
    with open(a.objects) as f:
        for line in f:
            target, _, obj = line.rstrip("\n").partition("\t")
            if obj:  # a target without objects has an empty line
                objects.append((target, obj))
    excluded = set()
    for lib in a.exclude_lib:
        excluded |= nm_lib(lib)
    lines, notes = check(objects, excluded, read_known(a.known) if a.known else ())
    for line in notes + lines:
        print(line)
    ntargets = len({t for t, _ in objects})
    if lines:
        print("wedge: move what both files use to a file below them both "
              "(docs/architecture.md), never a copy or a function pointer")
        return 1
    print("no call cycle among the files of %d targets (%d objects)" % (ntargets, len(objects)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
