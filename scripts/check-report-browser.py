#!/usr/bin/env python3
"""Opens a report.html in headless Chromium (Debian's package) through the DevTools protocol
and checks what a reader sees: the page loads with no console errors or exceptions, the
verdict banner is there, and every chart is visible with a non-zero size. Saves a screenshot.

usage: check-report-browser.py REPORT.html SCREENSHOT.png
"""
import base64, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client, from PyPI


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    report, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium is not installed")
    port = free_port()
    profile = tempfile.mkdtemp()
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
                             "--remote-debugging-address=127.0.0.1", "--window-size=1100,2000", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                page = next(t for t in targets if t["type"] == "page")
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit("chromium did not start its DevTools endpoint")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        ids = iter(range(1, 10**6))
        events = []

        def call(method, **params):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == i:
                    if "error" in msg:
                        sys.exit(f"{method}: {msg['error']}")
                    return msg.get("result", {})
                events.append(msg)

        for domain in ("Page", "Runtime", "Log"):
            call(f"{domain}.enable")
        call("Page.navigate", url="file://" + report)
        deadline = time.time() + 20
        while not any(e.get("method") == "Page.loadEventFired" for e in events):
            if time.time() > deadline:
                sys.exit("the page did not finish loading")
            events.append(json.loads(ws.recv()))
        time.sleep(0.3)
        check = call("Runtime.evaluate", returnByValue=True, expression="""(() => {
            const charts = [...document.querySelectorAll('figure.chart svg')].map(svg => {
                const r = svg.getBoundingClientRect(); const s = getComputedStyle(svg);
                return {w: r.width, h: r.height, visible: s.display !== 'none' && s.visibility !== 'hidden'};
            });
            return {charts, banner: !!document.querySelector('#verdict'), title: document.title};
        })()""")["result"]["value"]
        errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        png = call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        problems = []
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
        print(f"browser check: {report} loads without console errors, {len(check['charts'])} charts visible; screenshot {shot}")
    finally:
        proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
