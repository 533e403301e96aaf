#!/usr/bin/env python3
"""Turn one of wedge's Markdown pages into a manual page (man(7) roff).

    md2man.py --name wedge --section 1 --version 0.1.0 \
              --summary "expose race conditions..." docs/cli.md wedge.1

The docs are the one source: the build makes wedge(1) from docs/cli.md,
wedge-rules(7) from docs/rules.md and wedge-scenario(5) from
docs/scenarios.md (packaging/CMakeLists.txt), so a page cannot drift from
the Markdown.  Only the subset the docs use is understood: ATX headings,
paragraphs, fenced code, tables, lists, `code`, **bold**, *emphasis*,
[links](target) and HTML comments (dropped).  Tables become tagged
paragraphs, not tbl(1) input, so the page needs no preprocessor.

Exit status 0, or 2 with a message naming the file and line when the
Markdown holds something this subset cannot render (an unclosed fence).
"""
import argparse
import re
import sys

INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"
                    r"|\[([^\]]+)\]\(([^)\s]+)\)")


def esc(text):
    """Escape plain text for roff: backslashes, minus signs (so flags stay
    ASCII hyphen-minus when rendered), and a dot or quote starting a line."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def line_start(text):
    return "\\&" + text if text[:1] in (".", "'") else text


def inline(text):
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        code, bold, em, label, target = m.groups()
        if code is not None:
            out.append("\\fB" + esc(code) + "\\fR")
        elif bold is not None:
            out.append("\\fB" + inline(bold) + "\\fR")
        elif em is not None:
            out.append("\\fI" + inline(em) + "\\fR")
        else:
            out.append(inline(label))
            if re.match(r"https?://", target):
                out.append(" <" + esc(target) + ">")
        pos = m.end()
    out.append(esc(text[pos:]))
    return line_start("".join(out))


def cells(row):
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    # a pipe inside `code` (rare: `a \| b`) is written escaped in the docs
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def table(rows):
    """A Markdown table as tagged paragraphs: the first cell is the tag,
    the others follow, each named by its column's header."""
    head = cells(rows[0])
    body = [cells(r) for r in rows[1:] if not re.match(r"^\s*\|?[\s:|-]+\|?\s*$", r)]
    out = []
    for row in body:
        out.append(".TP")
        out.append(inline(row[0]) if row[0] else "\\&")
        rest = []
        for i, c in enumerate(row[1:], 1):
            if not c:
                continue
            name = head[i] if i < len(head) and len(row) > 2 and head[i] else ""
            rest.append((inline(name) + ": " if name else "") + inline(c))
        out.append("\n.br\n".join(rest) if rest else "\\&")
    return out


def convert(lines, path):
    out, para, i = [], [], 0

    def flush():
        if para:
            out.append(".PP")
            out.append(inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip("\n")
        if line.lstrip().startswith("<!--"):
            while "-->" not in lines[i]:
                i += 1
                if i == len(lines):
                    raise SyntaxError(f"{path}:{i}: unclosed HTML comment")
            i += 1
            continue
        fence = re.match(r"^(\s*)```", line)
        if fence:
            flush()
            start = i
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                out.append(line_start(esc(lines[i].rstrip("\n")[len(fence.group(1)):])) or "\\&")
                i += 1
            if i == len(lines):
                raise SyntaxError(f"{path}:{start + 1}: unclosed code fence (add a line ```)")
            out += [".fi", ".RE"]
            i += 1
            continue
        head = re.match(r"^(#{1,6})\s+(.*)$", line)
        if head:
            flush()
            level = len(head.group(1))
            if level == 1:  # the title: NAME says it already
                out += [".PP", "\\fB" + inline(head.group(2)) + "\\fR"]
            else:
                out.append((".SH " if level == 2 else ".SS ") + '"' +
                           inline(head.group(2)).replace('"', "\\(dq") + '"')
            i += 1
            continue
        if line.lstrip().startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i].rstrip("\n"))
                i += 1
            out += table(rows)
            continue
        item = re.match(r"^(\s*)([-*]|\d+\.)\s+(.*)$", line)
        if item:
            flush()
            tag = "\\(bu" if item.group(2) in "-*" else item.group(2)
            text, indent = [item.group(3)], len(item.group(1))
            i += 1
            while i < len(lines) and lines[i].strip() and \
                    not re.match(r"^\s*([-*]|\d+\.)\s+", lines[i]) and \
                    len(lines[i]) - len(lines[i].lstrip()) > indent:
                text.append(lines[i].strip())
                i += 1
            out += [f'.IP "{tag}" {4 + indent}', inline(" ".join(text))]
            continue
        if not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--summary", required=True, help="the one line after NAME \\-")
    ap.add_argument("source")
    ap.add_argument("output")
    a = ap.parse_args()
    with open(a.source, encoding="utf-8") as f:
        lines = f.readlines()
    try:
        body = convert(lines, a.source)
    except SyntaxError as e:
        print(f"md2man: {e.msg}", file=sys.stderr)
        return 2
    title = [
        f'.\\" Generated from {a.source.split("/")[-1]} by packaging/md2man.py: edit the Markdown.',
        f'.TH "{a.name.upper()}" "{a.section}" "" "wedge {a.version}" "wedge manual"',
        ".nh", ".ad l",
        ".SH NAME",
        f"{esc(a.name)} \\- {esc(a.summary)}",
    ]
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("\n".join(title + body) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
