#!/usr/bin/env python3
"""Parses HTML files with Python's own HTML parser and reports every element
left unclosed, every end tag that closes nothing open, and a document that
is not `<!DOCTYPE html>` with `<html lang>`. Used by tests/html_report.rs.

    html_check.py FILE...    prints one line per problem, exits 1 on any
"""
import sys
from html.parser import HTMLParser

# Elements that never have an end tag (HTML's void elements).
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


class Balance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.problems = []
        self.doctype = None
        self.lang = None

    def where(self):
        line, col = self.getpos()
        return f"line {line} column {col + 1}"

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag not in VOID:
            self.stack.append((tag, self.where()))

    def handle_startendtag(self, tag, attrs):
        # <x/>: closed where it opens (SVG's self-closing elements).
        pass

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"{self.where()}: </{tag}> closes a void element")
            return
        if not self.stack or self.stack[-1][0] != tag:
            open_ = self.stack[-1] if self.stack else None
            self.problems.append(
                f"{self.where()}: </{tag}> while "
                + (f"<{open_[0]}> (opened at {open_[1]}) is open" if open_ else "nothing is open"))
            # Recover as a browser would: close up to the matching element.
            names = [t for t, _ in self.stack]
            if tag in names:
                while self.stack and self.stack[-1][0] != tag:
                    self.stack.pop()
                self.stack.pop()
            return
        self.stack.pop()


def check(path):
    p = Balance()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    problems = list(p.problems)
    for tag, at in p.stack:
        problems.append(f"<{tag}> opened at {at} is never closed")
    if (p.doctype or "").lower() != "doctype html":
        problems.append(f"doctype is {p.doctype!r}, not 'DOCTYPE html'")
    if not p.lang:
        problems.append("<html> has no lang")
    return [f"{path}: {x}" for x in problems]


def main():
    problems = [x for path in sys.argv[1:] for x in check(path)]
    for x in problems:
        print(x)
    print(f"{len(sys.argv) - 1} files, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
