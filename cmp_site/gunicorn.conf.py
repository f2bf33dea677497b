"""gunicorn settings for production and the benchmarks: `gunicorn cmp_site.wsgi -c cmp_site/gunicorn.conf.py`.

Each value can be overridden from the environment (GUNICORN_WORKERS, GUNICORN_THREADS) or the
command line (-b, -w ...).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Keep-alive connections from load balancers and API clients need a worker that holds them.
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5
accesslog = None
