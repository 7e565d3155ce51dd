#!/usr/bin/env python3
"""Renders every Mermaid block of a Markdown report as GitHub does, with Mermaid from npm
(web/check, installed into target/web-check by scripts/test-all) in headless Chromium: each
block must render to an SVG without an error, with no script in it, and the whole file must
fit a pull-request comment (65,536 characters).

usage: check-mermaid.py REPORT.md
"""
import json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MERMAID = os.path.join(ROOT, "target/web-check/node_modules/mermaid/dist/mermaid.min.js")


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    problems = []
    if len(text) > 65536:
        problems.append(f"{len(text)} characters, more than a comment holds")
    if not blocks:
        sys.exit("mermaid check failed: no Mermaid blocks")
    if not os.path.isfile(MERMAID):
        sys.exit(f"mermaid check failed: {MERMAID} is missing (scripts/test-all installs web/check with npm)")
    browser = Browser(width=1000, height=800)
    try:
        browser.open("about:blank")
        browser.js(open(MERMAID, encoding="utf-8").read() + "; mermaid.initialize({startOnLoad: false}); true")
        for i, code in enumerate(blocks):
            got = browser.js(f"""mermaid.render('m{i}', {json.dumps(code)})
                .then(r => ({{svg: r.svg.length, script: /<script/i.test(r.svg), lines: (r.svg.match(/class="line-plot-/g) || []).length}}))
                .catch(e => ({{error: String(e && e.message || e)}}))""")
            if "error" in got:
                problems.append(f"block {i + 1} does not render: {got['error'][:200]}")
            elif got["script"]:
                problems.append(f"block {i + 1} renders a script")
            elif got["lines"] < 1:
                problems.append(f"block {i + 1} draws no line")
        if browser.errors():
            problems.append(f"console errors: {json.dumps(browser.errors())[:300]}")
    finally:
        browser.close()
    if problems:
        sys.exit("mermaid check failed: " + "; ".join(problems))
    print(f"mermaid check: {len(blocks)} blocks of {sys.argv[1]} render, {len(text)} characters")


if __name__ == "__main__":
    main()
