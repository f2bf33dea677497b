"""gunicorn settings for production and the benchmarks: `gunicorn cmp_site.wsgi -c cmp_site/gunicorn.conf.py`.

Each value can be overridden from the environment (GUNICORN_WORKERS, GUNICORN_THREADS) or the
command line (-b, -w ...).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
# Threads overlap the waits on Redis and PostgreSQL (a decision waits on a dozen round trips and
# a commit), and gthread workers keep clients' connections alive. Measured in bench/check_api.py:
# 4 workers x 4 threads served 3-4 times the checks and decisions of 4 sync workers.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5
accesslog = None
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): a second
# instance on the host (blue/green, the tests, the benchmarks) would take it from the first.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


# Metrics (consent.metrics): with PROMETHEUS_MULTIPROC_DIR set, each worker writes its counters to
# files there and a scrape sums them all, so that /metrics counts what every worker did.
def on_starting(server):
    """Start from an empty directory: what a previous server left there is not ours to count."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """A worker's counts stay (they are counts of what it did); its live gauges go with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
