#!/usr/bin/env python3
"""Opens a report.html in headless Chromium (Debian's package) through the DevTools protocol
and checks what a reader sees and does: the page loads with no console errors or exceptions,
the verdict banner is there, every chart is visible; on an interactive page, units format as
src/report/units.rs does, hovering shows a tooltip with the time and a value in its unit and
moves every chart's cursor, a legend click hides its series, dragging zooms every chart; at an
A4 page's width in print media no chart is wider than the page, and the page prints to PDF.
Saves a screenshot.

usage: check-report-browser.py REPORT.html SCREENSHOT.png
"""
import base64, json, os, re, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402


def main():
    report, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    browser = Browser()
    call, js, events = browser.call, browser.js, browser.events
    try:
        browser.open("file://" + report)
        problems = []

        def until(expression, what, seconds=10):
            deadline = time.time() + seconds
            while not js(expression):
                if time.time() > deadline:
                    problems.append(f"timed out waiting for {what}")
                    return False
                time.sleep(0.05)
            return True

        def mouse(kind, x, y, buttons=0, button="none"):
            call("Input.dispatchMouseEvent", type=kind, x=x, y=y, buttons=buttons, button=button, clickCount=1)

        def center(selector):
            return js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
                if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
                return {{x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height, left: r.left}}; }})()""")

        interactive = js("!!document.getElementById('soy-data')")
        if interactive and until("window.soy && window.soy.ready", "the charts to be built"):
            n = js("window.soy.plots.length")
            hosts = js("document.querySelectorAll('.soy-plot').length")
            if n == 0 or n != hosts:
                problems.append(f"{n} interactive charts for {hosts} places")
            # Units as src/report/units.rs writes them.
            for v, unit, want in [(0.001, {"kind": "ratio"}, "0.10 %"), (1.8e9, {"kind": "bytes"}, "1.80 GB"),
                                  (25.3, {"kind": "millis"}, "25.3 ms"), (12500, {"kind": "rate", "label": "req/s"}, "12.5k req/s"),
                                  (0.45, {"kind": "cores"}, "0.450 cores"), (3, {"kind": "count", "label": "replicas"}, "3 replicas")]:
                got = js(f"window.soy.fmt({v}, {json.dumps(unit)})")
                if got != want:
                    problems.append(f"fmt({v}, {unit}) is {got!r}, not {want!r}")
            # Hover: a tooltip with the time and a value in the chart's unit.
            lat = next((i for i in range(n) if js(f"window.soy.plots[{i}].soyPlot.id") == "latency"), 0)
            over = f"#plot-{js(f'window.soy.plots[{lat}].soyPlot.id')} .u-over"
            c = center(over)
            mouse("mouseMoved", c["x"], c["y"])
            if until(f"(() => {{ const t = document.querySelector('{over} .soy-tip'); return t && t.style.display === 'block'; }})()", "a tooltip"):
                tip = js(f"document.querySelector('{over} .soy-tip').innerText")
                if not re.search(r"\+\d+:\d", tip) or not re.search(r"\d (ms|s|µs)", tip):
                    problems.append(f"the latency tooltip shows no time or no value in ms: {tip!r}")
                others = js("window.soy.plots.filter(u => u.cursor.idx != null).length")
                if n > 1 and others < 2:
                    problems.append("the cursor is not shared by the other charts")
            # A legend entry hides its series.
            entry = f"#plot-{js(f'window.soy.plots[{lat}].soyPlot.id')} .u-legend .u-series:nth-child(2) th"
            e = center(entry)
            # Over it first, as a hand would: the legend re-lays out when the cursor leaves a chart.
            mouse("mouseMoved", e["x"], e["y"])
            js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            e = center(entry)
            mouse("mousePressed", e["x"], e["y"], buttons=1, button="left")
            mouse("mouseReleased", e["x"], e["y"], button="left")
            if not until(f"window.soy.plots[{lat}].series[1].show === false", "a legend click to hide its series", 3):
                problems.append("clicking a legend entry did not hide the series")
            # Zooming one chart zooms the others.
            c = center(over)
            before = js("window.soy.plots.map(u => [u.scales.x.min, u.scales.x.max])")
            x0, x1 = c["left"] + c["w"] * 0.3, c["left"] + c["w"] * 0.6
            mouse("mousePressed", x0, c["y"], buttons=1, button="left")
            for k in range(1, 6):
                mouse("mouseMoved", x0 + (x1 - x0) * k / 5, c["y"], buttons=1)
            mouse("mouseReleased", x1, c["y"], button="left")
            until(f"window.soy.plots[{lat}].scales.x.max - window.soy.plots[{lat}].scales.x.min < {before[lat][1] - before[lat][0]} * 0.9", "the zoom")
            after = js("window.soy.plots.map(u => [u.scales.x.min, u.scales.x.max])")
            if after[lat] == before[lat]:
                problems.append("dragging did not zoom")
            elif any(abs(a[0] - after[lat][0]) > 1e-6 or abs(a[1] - after[lat][1]) > 1e-6 for a in after):
                problems.append(f"zoom not shared: {after}")
            # Names and labels are text: each legend entry shows its series' name as written.
            wrong = js("""window.soy.plots.flatMap(u => u.soyPlot.series.filter((s, i) =>
                !u.root.querySelectorAll('.u-legend .u-series')[i + 1].innerText.includes(s.name)).map(s => s.name))""")
            if wrong:
                problems.append(f"legend entries not shown as written: {wrong[:3]}")
            check_charts = js("window.soy.plots.map(u => { const r = u.root.getBoundingClientRect(); return {w: r.width, h: r.height, visible: true}; })")
        else:
            check_charts = js("""[...document.querySelectorAll('figure.chart svg')].map(svg => {
                const r = svg.getBoundingClientRect(); const s = getComputedStyle(svg);
                return {w: r.width, h: r.height, visible: s.display !== 'none' && s.visibility !== 'hidden'}; })""")
        check = {"charts": check_charts, "banner": js("!!document.querySelector('#verdict')")}
        errors = browser.errors()
        js("window.scrollTo(0, 0)")
        png = call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        # Printing: at an A4 page's width in print media, no chart is wider than the page.
        call("Emulation.setEmulatedMedia", media="print")
        call("Emulation.setDeviceMetricsOverride", width=794, height=1123, deviceScaleFactor=1, mobile=False)
        cut = js("""(() => { const w = document.documentElement.clientWidth;
            return [...document.querySelectorAll('figure.chart canvas, figure.chart svg')]
              .filter(e => e.getBoundingClientRect().right > w + 1).length; })()""")
        if cut:
            problems.append(f"{cut} chart(s) wider than a printed page")
        pdf = call("Page.printToPDF", printBackground=True)["data"]
        if len(base64.b64decode(pdf)) < 1000:
            problems.append("printing to PDF gave no document")
        dialogs = [e for e in events if e.get("method") == "Page.javascriptDialogOpening"]
        if dialogs:
            problems.append(f"a script from the page's text ran: {dialogs[0]['params'].get('message')!r}")
        if errors:
            problems.append(f"{len(errors)} console error(s): {json.dumps(errors)[:500]}")
        if not check["banner"]:
            problems.append("no verdict banner")
        if not check["charts"]:
            problems.append("no charts")
        hidden = [i for i, c in enumerate(check["charts"]) if not (c["visible"] and c["w"] > 100 and c["h"] > 50)]
        if hidden:
            problems.append(f"charts not visible: {hidden}")
        if problems:
            sys.exit("report check failed: " + "; ".join(problems))
        kind = "interactive" if interactive else "static"
        print(f"browser check: {report} loads without console errors, {len(check['charts'])} {kind} charts visible"
              + ("; tooltip, legend, shared cursor and zoom work" if interactive else "")
              + f"; prints within the page; screenshot {shot}")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
