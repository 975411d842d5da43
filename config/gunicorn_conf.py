"""gunicorn settings for production (`gunicorn -c config/gunicorn_conf.py config.wsgi:application`).

Graceful lifecycle: on SIGTERM gunicorn stops accepting connections and gives in-flight requests
`graceful_timeout` seconds to finish before killing its workers; `Prefer: wait` requests are capped well
below that. With several workers, metrics are summed through PROMETHEUS_MULTIPROC_DIR (emptied at start).
An ASGI deployment uses the same file with GUNICORN_WORKER_CLASS=uvicorn_worker.UvicornWorker and config.asgi.
"""
import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
keepalive = 5
accesslog = None  # one JSON line per request comes from config.observability.RequestIdMiddleware
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
