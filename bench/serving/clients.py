"""The load: closed-loop async clients (aiohttp) against one endpoint, with the server's CPU sampled around the
measured window."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .common import fmt, log, percentile
from .servers import Server


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


def _data_services_cpu() -> dict[int, float]:
    """CPU seconds per PostgreSQL and Redis process: their share of a call's cost, which the server's own
    process trees do not hold (the embedded Redis of `make run` is in the server's tree and counted there)."""
    import psutil

    seconds: dict[int, float] = {}
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name.startswith(("postgres", "redis-server")):
            try:
                t = proc.cpu_times()
            except psutil.Error:  # a backend that ended meanwhile
                continue
            seconds[proc.pid] = t.user + t.system
    return seconds


def _web_pids(pids) -> set[int]:
    """The server's web processes (the rest are its workers, beat and the embedded broker)."""
    import psutil

    web = set()
    for pid in pids:
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if any(name in cmdline for name in ("gunicorn", "uvicorn", "granian", "runserver")):
            web.add(pid)
    return web


def run_level(target: Target, sentences: list[str], clients: int, seconds: float, warmup: float,
              server: Server | None) -> dict:
    import psutil

    me = psutil.Process()

    def sample() -> dict:
        t = me.cpu_times()
        return {"wall": time.perf_counter(), "server": server.cpu_seconds() if server else {},
                "data": _data_services_cpu() if server else {},
                "client": t.user + t.system, "machine": psutil.cpu_times()}

    result = asyncio.run(_load(target, sentences, clients, seconds, warmup, sample))
    before, after = result.pop("cpu")
    wall = after["wall"] - before["wall"]
    server_cpu = sum(after["server"][pid] - before["server"].get(pid, 0.0) for pid in after["server"])
    server_pids = set(after["server"])
    web_pids = _web_pids(server_pids)
    web_cpu = sum(after["server"][pid] - before["server"].get(pid, 0.0) for pid in web_pids)
    data_cpu = sum(after["data"][pid] - before["data"].get(pid, 0.0) for pid in after["data"] if pid not in server_pids)
    machine_busy = sum(getattr(after["machine"], f) - getattr(before["machine"], f)
                       for f in ("user", "system", "nice", "irq", "softirq"))
    done = result["completed_in_window"]
    result.update({
        "server_cpu_ms_per_req": server_cpu * 1000 / done if server and done else None,
        "server_cores": server_cpu / wall if server else None,
        "data_cpu_ms_per_req": data_cpu * 1000 / done if server and done else None,
        "web_cpu_ms_per_req": web_cpu * 1000 / done if server and done and web_pids else None,
        "worker_cpu_ms_per_req": (server_cpu - web_cpu) * 1000 / done if server and done and web_pids else None,
        "client_cores": (after["client"] - before["client"]) / wall,
        "machine_cores_busy": machine_busy / wall,
        "load_avg": os.getloadavg()[0],
    })
    return result


def print_level(tag: str, r: dict) -> None:
    log(f"  {tag:>3} {r['clients']:>4} clients: {r['req_per_s']:7.1f} req/s  p50 {fmt(r['p50_ms']):>7} "
        f"p95 {fmt(r['p95_ms']):>7} p99 {fmt(r['p99_ms']):>7} ms  err {r['errors']} 202s {r['accepted_202']}  "
        f"batch {fmt(r['mean_batch'])}  server {fmt(r['server_cpu_ms_per_req'])} ms CPU/req "
        f"({fmt(r['server_cores'], '.2f')} cores: web {fmt(r.get('web_cpu_ms_per_req'))}, workers "
        f"{fmt(r.get('worker_cpu_ms_per_req'))}), PG+Redis {fmt(r.get('data_cpu_ms_per_req'))} ms CPU/req, "
        f"machine {r['machine_cores_busy']:.2f} cores busy, client {r['client_cores']:.2f} cores, "
        f"load {r['load_avg']:.1f}"
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
