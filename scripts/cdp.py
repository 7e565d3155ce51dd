"""Headless Chromium (Debian's package) driven through the DevTools protocol: what the report
checks (check-report-browser.py, check-mermaid.py) share. Needs websocket-client (PyPI)."""
import json, shutil, socket, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client, from PyPI


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One Chromium with one page; stopped by its process id on close."""

    def __init__(self, width=1100, height=2000):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            sys.exit("chromium is not installed")
        port = free_port()
        self.profile = tempfile.mkdtemp()
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={self.profile}", f"--remote-debugging-port={port}",
             "--remote-debugging-address=127.0.0.1", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                page = next(t for t in targets if t["type"] == "page")
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.close()
                    sys.exit("chromium did not start its DevTools endpoint")
                time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.ids = iter(range(1, 10**9))
        self.events = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    sys.exit(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def js(self, expression):
        r = self.call("Runtime.evaluate", returnByValue=True, awaitPromise=True, expression=expression)
        if "exceptionDetails" in r:
            sys.exit(f"page script failed: {expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url, seconds=20):
        """Navigates and waits for the load event."""
        self.call("Page.navigate", url=url)
        deadline = time.time() + seconds
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.time() > deadline:
                sys.exit("the page did not finish loading")
            self.events.append(json.loads(self.ws.recv()))

    def errors(self):
        """Exceptions and console errors so far."""
        return [e for e in self.events if e.get("method") == "Runtime.exceptionThrown"
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
