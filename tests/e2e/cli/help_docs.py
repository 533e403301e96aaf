#!/usr/bin/env python3
"""help_docs.py WEDGE DOCS_CLI_MD [--write]: every help text wedge prints
is in docs/cli.md, word for word.

The commands come from `wedge --help` itself (the lines under "Commands:"),
so a command added to wedge without its help in the docs fails here.  For
`wedge --help` and each command's `wedge COMMAND --help` (and `wedge help
COMMAND`, which must print the same), the output must equal one fenced code
block of docs/cli.md exactly.  On a mismatch the closest block is shown
beside the output, as a diff.

--write rewrites the blocks between the markers `<!-- help:NAME -->` and
`<!-- /help:NAME -->` of docs/cli.md (NAME: wedge, or a command) from the
built wedge, for whoever changes a help text: the prose around them is
still theirs to update.
"""
import difflib
import subprocess
import sys


def blocks(md):
    """The contents of every ``` fenced block of md."""
    out, cur = [], None
    for line in md.splitlines(keepends=True):
        if line.startswith("```"):
            if cur is None:
                cur = []
            else:
                out.append("".join(cur))
                cur = None
        elif cur is not None:
            cur.append(line)
    return out


def helptext(wedge, *args):
    p = subprocess.run([wedge, *args], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        sys.exit(f"help_docs: FAIL: {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def commands(general):
    names, inside = [], False
    for line in general.splitlines():
        if line == "Commands:":
            inside = True
        elif inside and not line.strip():
            break
        elif inside and line.startswith("  ") and not line.startswith("   "):
            names.append(line.split()[0])
    return names


def write(docs, texts):
    with open(docs, encoding="utf-8") as f:
        md = f.read()
    for what, text in texts.items():
        name = what.split()[-1] if what != "wedge --help" else "wedge"
        start, end = f"<!-- help:{name} -->\n", f"<!-- /help:{name} -->\n"
        if start not in md or end not in md:
            sys.exit(f"help_docs: docs/cli.md has no markers {start.strip()} ... {end.strip()}")
        a, b = md.index(start) + len(start), md.index(end)
        md = md[:a] + "```text\n" + text + "```\n" + md[b:]
    with open(docs, "w", encoding="utf-8") as f:
        f.write(md)


def main():
    wedge, docs = sys.argv[1], sys.argv[2]
    with open(docs, encoding="utf-8") as f:
        have = blocks(f.read())
    general = helptext(wedge, "--help")
    texts = {"wedge --help": general}
    names = commands(general)
    if len(names) < 6:
        sys.exit(f"help_docs: FAIL: found only {names} under 'Commands:' in wedge --help")
    for name in names:
        text = helptext(wedge, "help", name)
        if name not in ("help", "version") and helptext(wedge, name, "--help") != text:
            sys.exit(f"help_docs: FAIL: 'wedge help {name}' differs from 'wedge {name} --help'")
        texts[f"wedge help {name}"] = text
    if "--write" in sys.argv[3:]:
        write(docs, texts)
        return
    bad = 0
    for what, text in texts.items():
        if text in have:
            continue
        bad += 1
        near = max(have, key=lambda b: difflib.SequenceMatcher(None, b, text).ratio())
        diff = difflib.unified_diff(near.splitlines(), text.splitlines(), "docs/cli.md",
                                    what, lineterm="")
        print(f"help_docs: FAIL: the output of '{what}' is not a block of docs/cli.md:")
        print("\n".join(diff))
    if bad:
        sys.exit(1)
    print(f"help_docs: ok ({len(texts)} help texts, every one in docs/cli.md)")


if __name__ == "__main__":
    main()
