"""How the platform is started for a configuration (the SERVERS table) and stopped again, by process ids."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import PYTHON, ROOT, log, wait_port

# ==================================================================================================================
# HOW THE PLATFORM IS STARTED. For each configuration the first entry whose `when` holds is used (`--server-pg
# NAME` / `--server-embedded NAME` force one). `when` terms, all must hold: "make:TARGET" (a Makefile target),
# "file:PATH", "module:NAME" (importable in this venv), "command:NAME" (a manage.py command), "always".
# Placeholders: {python} {addr} {port} {web_workers} {web_threads}; "env" adds environment variables to the
# entry's processes. A `--opt=value` argument of a manage.py command
# is dropped when that command's --help does not know `--opt`, so newer and older commands both start.
# "platform" processes start everything themselves; "web" + "worker" are started side by side.
# ==================================================================================================================
SERVERS: dict[str, list[dict]] = {
    # (b), (c), (t): PostgreSQL + Redis, from DATABASE_URL / CELERY_BROKER_URL / CACHE_URL.
    "pg": [
        # `make serve` (migrate, collectstatic, then the production processes); `-o install` keeps it from
        # reinstalling the shared venv. ADDR is what it binds.
        {"name": "make serve", "when": ["make:serve"], "env": {"ADDR": "{addr}"},
         "processes": {"platform": ["make", "-o", "install", "serve", "ADDR={addr}"]}},
        {"name": "uvicorn (config/asgi.py) + inference_worker", "when": ["file:config/asgi.py", "module:uvicorn"],
         "processes": {
             "web": ["{python}", "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", "{port}",
                     "--workers", "{web_workers}", "--no-access-log", "--log-level", "warning"],
             "worker": ["{python}", "manage.py", "inference_worker", "--loglevel=WARNING"]}},
        {"name": "granian (config/asgi.py) + inference_worker", "when": ["file:config/asgi.py", "module:granian"],
         "processes": {
             "web": ["{python}", "-m", "granian", "--interface", "asgi", "config.asgi:application", "--host",
                     "127.0.0.1", "--port", "{port}", "--workers", "{web_workers}", "--log-level", "warning"],
             "worker": ["{python}", "manage.py", "inference_worker", "--loglevel=WARNING"]}},
        # What main has today: gunicorn gthread 2 x 16 + the threads-pool Celery inference worker.
        {"name": "gunicorn gthread + inference_worker", "when": ["always"],
         "processes": {
             "web": ["{python}", "-m", "gunicorn", "config.wsgi", "-k", "gthread", "-w", "{web_workers}",
                     "--threads", "{web_threads}", "-b", "{addr}", "--log-level", "warning"],
             "worker": ["{python}", "manage.py", "inference_worker", "--loglevel=WARNING"]}},
    ],
    # (e): the embedded default, what `make run` starts (SQLite + the embedded broker), without the demo seeding.
    "embedded": [
        {"name": "manage.py runplatform", "when": ["command:runplatform"],
         "processes": {"platform": ["{python}", "manage.py", "runplatform", "--addr={addr}"]}},
    ],
}
# ==================================================================================================================

_HELP_CACHE: dict[str, str] = {}


def _manage_help(command: str, env: dict) -> str:
    if command not in _HELP_CACHE:
        result = subprocess.run([PYTHON, "manage.py", command, "--help"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        _HELP_CACHE[command] = result.stdout if result.returncode == 0 else ""
    return _HELP_CACHE[command]


def _manage_commands(env: dict) -> str:
    if "__list__" not in _HELP_CACHE:
        result = subprocess.run([PYTHON, "manage.py", "help", "--commands"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        _HELP_CACHE["__list__"] = result.stdout
    return _HELP_CACHE["__list__"]


def _makefile_targets() -> set[str]:
    path = ROOT / "Makefile"
    if not path.exists():
        return set()
    targets = set()
    for line in path.read_text().splitlines():
        if line and not line[0].isspace() and ":" in line and not line.startswith(("#", ".")) and "=" not in line:
            targets.update(line.split(":", 1)[0].split())
    return targets


def _holds(term: str, env: dict) -> bool:
    kind, _, value = term.partition(":")
    if kind == "always":
        return True
    if kind == "make":
        return value in _makefile_targets()
    if kind == "file":
        return (ROOT / value).exists()
    if kind == "module":
        import importlib.util

        return importlib.util.find_spec(value) is not None
    if kind == "command":
        return value in _manage_commands(env).split()
    raise ValueError(f"unknown condition {term!r}")


def _fill(command: list[str], values: dict, env: dict) -> list[str]:
    filled = [part.format(**values) for part in command]
    if len(filled) > 2 and filled[1] == "manage.py":
        known = _manage_help(filled[2], env)
        filled = filled[:3] + [a for a in filled[3:] if not (a.startswith("--") and "=" in a)
                               or a.split("=", 1)[0] in known]
    return filled


@dataclass
class Server:
    """Process groups started by the benchmark: stopped by their ids at the end."""

    name: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_path: Path | None = None

    def pids(self) -> dict[str, list[int]]:
        """Every live process of each role's tree (the role's process and all its descendants)."""
        import psutil

        trees: dict[str, list[int]] = {}
        for role, proc in self.procs.items():
            try:
                root = psutil.Process(proc.pid)
                trees[role] = [root.pid] + [c.pid for c in root.children(recursive=True)]
            except psutil.Error:
                trees[role] = []
        return trees

    def cpu_seconds(self) -> dict[int, float]:
        import psutil

        times = {}
        for pids in self.pids().values():
            for pid in pids:
                try:
                    t = psutil.Process(pid).cpu_times()
                    times[pid] = t.user + t.system
                except psutil.Error:
                    pass
        return times

    def stop(self) -> None:
        import psutil

        members: list[int] = [pid for pids in self.pids().values() for pid in pids]
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 25
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        # Anything of ours that left the process group (a daemonised helper) goes by its id.
        for pid in members:
            try:
                child = psutil.Process(pid)
                child.terminate()
                child.wait(5)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.Error:
                pass


def start_server(kind: str, *, forced: str | None, env: dict, port: int, log_path: Path,
                 web_workers: int, web_threads: int, ready_timeout: float) -> tuple[Server, dict]:
    values = {"python": PYTHON, "addr": f"127.0.0.1:{port}", "port": port, "web_workers": web_workers,
              "web_threads": web_threads}
    candidates = [c for c in SERVERS[kind]
                  if (c["name"] == forced if forced else all(_holds(t, env) for t in c["when"]))]
    if not candidates:
        raise SystemExit(f"no server entry for {kind!r} applies (forced: {forced!r})")
    last_error = ""
    for candidate in candidates:
        commands = {role: _fill(cmd, values, env) for role, cmd in candidate["processes"].items()}
        env = {**env, **{k: v.format(**values) for k, v in candidate.get("env", {}).items()}}
        log(f"starting {kind} server: {candidate['name']}")
        for role, cmd in commands.items():
            log(f"  {role}: {' '.join(cmd)}")
        handle = open(log_path, "ab")  # noqa: SIM115 - closed with the run
        server = Server(name=candidate["name"], log_path=log_path)
        for role, cmd in commands.items():
            server.procs[role] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                                  start_new_session=True)
        if wait_port(port, ready_timeout, list(server.procs.values())):
            return server, {"name": candidate["name"], "commands": commands}
        last_error = f"{candidate['name']} did not listen on 127.0.0.1:{port} within {ready_timeout:.0f}s"
        log(f"  {last_error}; see {log_path}")
        server.stop()
    raise RuntimeError(last_error)
