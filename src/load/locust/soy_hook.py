"""soy's listener inside Locust, added by soy to `-f` (it defines no User).

On the master (or the only process): once a second one JSON line of cumulative statistics
to $SOY_LOCUST_LIVE; when Locust has stopped its users, the final statistics to
$SOY_LOCUST_FINAL, and the final rows into Locust's own `_stats.csv`, `_failures.csv` and
`_exceptions.csv` (Locust writes those once a second and not at exit, so they would miss
the last second). Workers report to the master every second instead of every three.
"""

import csv
import json
import os
import signal
import time

import gevent
import locust.runners
from locust import events
from locust.runners import MasterRunner, WorkerRunner

# What the hook needs of Locust (2.12 and later have it); an older one is refused by name.
for _event in ("init", "test_stop", "quit"):
    if not hasattr(events, _event):
        raise RuntimeError(
            f"soy's Locust driver needs Locust 2.12 or newer (this one has no `{_event}` event)"
        )

LIVE = os.environ.get("SOY_LOCUST_LIVE")
FINAL = os.environ.get("SOY_LOCUST_FINAL")
CSV_PREFIX = os.environ.get("SOY_LOCUST_CSV")

# Workers send their statistics to the master this often (Locust's default is 3 s).
locust.runners.WORKER_REPORT_INTERVAL = 1.0

# Debian's build carries an empty version, and a master refuses a worker that reports none
# ("an old (pre 2.0) worker"): master and workers both load this hook, so both say this one.
if not locust.runners.__version__:
    locust.runners.__version__ = os.environ.get("SOY_LOCUST_VERSION") or "0.0.0+unversioned"

_env = []
# Requests each worker has reported to the master (its reports are differences since the
# last one), by worker id: what each worker sent, Locust keeping only the merged totals.
_worker_requests = {}


def _entry(e, buckets):
    out = {
        "method": e.method or "",
        "name": e.name,
        "requests": e.num_requests,
        "failures": e.num_failures,
        "rt_sum": e.total_response_time,
        "bytes": e.total_content_length,
        "min": e.min_response_time,
        "max": e.max_response_time,
    }
    if buckets:
        out["buckets"] = {str(k): v for k, v in e.response_times.items()}
    return out


def _workers(runner):
    if not isinstance(runner, MasterRunner):
        return None
    return [
        {"id": c.id, "state": str(c.state), "users": c.user_count}
        for c in runner.clients.values()
    ]


def _snapshot(env):
    runner = env.runner
    stats = env.stats
    line = {
        "t": time.time(),
        "state": str(runner.state),
        "users": runner.user_count,
        "entries": [_entry(e, True) for e in stats.entries.values()],
        "total": _entry(stats.total, True),
    }
    workers = _workers(runner)
    if workers is not None:
        line["workers"] = workers
        line["worker_requests"] = dict(_worker_requests)
    return line


def _write_final(env):
    runner = env.runner
    final = {
        "t": time.time(),
        "locust_version": locust.__version__ or os.environ.get("SOY_LOCUST_VERSION", ""),
        "start_time": env.stats.total.start_time,
        "last_request": env.stats.total.last_request_timestamp,
        "entries": [_entry(e, True) for e in env.stats.entries.values()],
        "total": _entry(env.stats.total, True),
        "errors": [e.to_dict() for e in env.stats.errors.values()],
        "exceptions": [
            {"count": x["count"], "msg": x["msg"], "traceback": x["traceback"],
             "nodes": sorted(x["nodes"])}
            for x in runner.exceptions.values()
        ],
        "workers": _workers(runner),
        "worker_requests": dict(_worker_requests),
    }
    tmp = FINAL + ".tmp"
    with open(tmp, "w") as f:
        json.dump(final, f)
    os.replace(tmp, FINAL)


def _write_csv(env):
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    rows = StatsCSV(env, PERCENTILES_TO_REPORT)
    for suffix, columns, write in [
        ("_stats.csv", rows.requests_csv_columns, rows._requests_data_rows),
        ("_failures.csv", rows.failures_columns, rows._failures_data_rows),
        ("_exceptions.csv", rows.exceptions_columns, rows._exceptions_data_rows),
    ]:
        path = CSV_PREFIX + suffix
        with open(path + ".tmp", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            write(w)
        os.replace(path + ".tmp", path)


def _live_loop(env):
    start = time.time()
    with open(LIVE, "a") as f:
        while True:
            f.write(json.dumps(_snapshot(env)) + "\n")
            f.flush()
            # On whole seconds from the start, so a late tick does not shift the next ones.
            gevent.sleep(1.0 - (time.time() - start) % 1.0)


def _on_worker_report(client_id, data, **_kwargs):
    total = data.get("stats_total") or {}
    _worker_requests[client_id] = _worker_requests.get(client_id, 0) + total.get("num_requests", 0)


@events.init.add_listener
def _on_init(environment, **_kwargs):
    if isinstance(environment.runner, WorkerRunner):
        return
    _env.append(environment)
    if isinstance(environment.runner, MasterRunner):
        environment.events.worker_report.add_listener(_on_worker_report)
    if LIVE:
        gevent.spawn(_live_loop, environment)
    if environment.shape_class is not None:
        # With a LoadTestShape, headless Locust installs its SIGTERM handler only once the
        # shape has ended; until then SIGTERM would kill it without its final statistics.
        # Stopping the runner ends the shape, and Locust then shuts down as usual.
        gevent.signal_handler(signal.SIGTERM, environment.runner.quit)


def _finish(**_kwargs):
    if not _env:
        return
    env = _env[0]
    if FINAL:
        _write_final(env)
    if CSV_PREFIX:
        _write_csv(env)


# After Locust has stopped its users (`quit` fires after `runner.quit()`); `test_stop` too,
# for a run that stops its users without quitting.
events.test_stop.add_listener(_finish)
events.quit.add_listener(_finish)
