#!/usr/bin/env python3
"""dom.py FILE - the facts browser.sh asserts, from a page as Chromium
rendered it (--dump-dom), one per line:

    attr:NAME=VALUE      each attribute of <html> (data-ready, data-errors...)
    drawn:KEY=N          each count of <html data-drawn>
    verdict=CLASS        the verdict banner's class
    part=TEXT            a lifeline of the sequence diagram (its head)
    arrive=X<TAB>TEXT    a call held at the rule in the sequence diagram:
                         the x of its box and its text
    cell=CLASS           each outcome cell (--repeat, the isolation matrix)
"""
import sys
from html.parser import HTMLParser


class Facts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = []
        self.stack = []      # classes of open elements
        self.box_x = None    # x of the current held call's box
        self.text_into = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "html":
            for k, v in attrs:
                self.out.append("attr:%s=%s" % (k, v))
                if k == "data-drawn":
                    self.out += ["drawn:" + kv for kv in v.split()]
        if "verdict" in cls.split():
            self.out.append("verdict=" + " ".join(c for c in cls.split() if c != "verdict"))
        if "cell" in cls.split():
            self.out.append("cell=" + " ".join(c for c in cls.split() if c != "cell"))
        in_seq = any("sequence" in c.split() for c in self.stack)
        if in_seq and tag == "rect" and self.stack and "ev waiting" in self.stack[-1]:
            self.box_x = a.get("x")
        if in_seq and tag == "text" and self.stack:
            if "ev waiting" in self.stack[-1] and self.box_x is not None:
                self.text_into = "arrive=%s\t" % self.box_x
            elif self.stack[-1] == "part" and a.get("class") == "ph":
                self.text_into = "part="
        if tag not in ("rect", "line", "path", "circle", "meta", "br", "polyline"):
            self.stack.append(cls)

    def handle_endtag(self, tag):
        if tag not in ("rect", "line", "path", "circle", "meta", "br", "polyline") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.text_into is not None:
            self.out.append(self.text_into + data)
            self.text_into = None


p = Facts()
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    p.feed(f.read())
print("\n".join(p.out))
