#!/usr/bin/env python3
"""No source file over 800 lines, no function over 100 (issue 11's
acceptance; style.md: files 100-600 lines, functions under 60).

Walks the C sources (.c, .h) of the tree, skipping build directories (a
CMakeCache.txt at their top) and hidden ones.  A function is what the
house format (.clang-format, BreakBeforeBraces: Linux) writes: a "{"
alone at column 0 after its signature, up to the "}" alone at column 0;
its length counts from the signature's first line to that brace.

    lengths.py SOURCE_DIR [--file-max 800] [--func-max 100]
    lengths.py --self-test     (a long file and a long function must fail)
"""
import argparse
import os
import sys
import tempfile


def sources(root):
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not os.path.exists(os.path.join(dirpath, d, "CMakeCache.txt")))
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(dirpath, f)


def signature_start(lines, brace):
    """First line of the signature that ends on the line before brace."""
    i = brace - 1
    while i > 0:
        prev = lines[i - 1].rstrip()
        if (not prev or prev.endswith((";", "}", "*/", "\\")) or prev.startswith(("#", "//"))
                or prev.lstrip().startswith(("*", "/*"))):
            break
        i -= 1
    return i


def functions(lines):
    """(name, first line, length) of every function, 1-based lines."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != "{":
            i += 1
            continue
        start = signature_start(lines, i)
        sig = " ".join(l.strip() for l in lines[start:i])
        head = sig.split("(", 1)[0].split()
        name = head[-1].lstrip("*") if head else "?"
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "}":
            end += 1
        out.append((name, start + 1, end - start + 1))
        i = end + 1
    return out


def check(root, file_max, func_max):
    bad = []
    nfiles = nfuncs = 0
    longest = ("", "", 0)
    for path in sources(root):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        rel = os.path.relpath(path, root)
        nfiles += 1
        if len(lines) > file_max:
            bad.append("%s: %d lines, over %d: split it where its ideas part" %
                       (rel, len(lines), file_max))
        for name, line, n in functions(lines):
            nfuncs += 1
            if n > longest[2]:
                longest = (rel, name, n)
            if n > func_max:
                bad.append("%s:%d: %s is %d lines, over %d: give each of its jobs a function" %
                           (rel, line, name, n, func_max))
    return bad, nfiles, nfuncs, longest


def self_test():
    body = "    x++;\n" * 96
    cases = {  # 100 lines with a signature of one line, 101 with two
        "ok.c": "static int f(int x)\n{\n" + body + "    return x;\n}\n",
        "long_func.c": "static int\nf(int x)\n{\n" + body + "    return x;\n}\n",
        "long_file.h": "/* x */\n" * 801,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in cases.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        bad, nfiles, nfuncs, _ = check(tmp, 800, 100)
    want = ["long_file.h: 801 lines, over 800: split it where its ideas part",
            "long_func.c:1: f is 101 lines, over 100: give each of its jobs a function"]
    if sorted(bad) != want or nfiles != 3 or nfuncs != 2:
        print("self-test: expected", want, "got", bad, nfiles, nfuncs)
        return 1
    print("self-test: a 101-line function and an 801-line file refused, 100 lines accepted")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?")
    ap.add_argument("--file-max", type=int, default=800)
    ap.add_argument("--func-max", type=int, default=100)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.root:
        ap.error("a source directory is needed")
    bad, nfiles, nfuncs, longest = check(a.root, a.file_max, a.func_max)
    for b in bad:
        print(b)
    print("%d files, %d functions; the longest function: %s in %s, %d lines" %
          (nfiles, nfuncs, longest[1], longest[0], longest[2]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
