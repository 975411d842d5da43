"""ModelMarket on five "hosts": network namespaces joined by veth pairs on a bridge, made by this test (root).

Topology (10.213.15.0/24; the root namespace is the client and owns the bridge)::

      root namespace: load generator (32 clients), bridge mhbr<id> 10.213.15.1
        |-- veth --> db       10.213.15.2  PostgreSQL (own cluster: initdb/pg_ctl in a temp dir) + Redis (broker)
        |-- veth --> web      10.213.15.3  gunicorn config.wsgi (2 processes x 32 threads)
        |-- veth --> cpu-a    10.213.15.4  manage.py inference_worker (taskset: CPU 0), hostname cpu-a
        |-- veth --> cpu-b    10.213.15.5  manage.py inference_worker (taskset: CPU 1), hostname cpu-b
        `-- veth --> trainer  10.213.15.6  celery worker -Q training,webhooks,default

Every process runs inside its namespace (and its own UTS namespace, so each host has its own hostname) and
reaches the others only by these addresses. Model artifacts live in one shared folder, standing in for the
object storage a real deployment shares between hosts.

Phases:
1. one worker host (cpu-a), 32 paying clients for a fixed window: throughput r1. Each call runs a 12-layer BERT
   (hidden 384) over 512 tokens, one call per forward pass: ~100-200 ms of one CPU, far more than the web host and
   the database spend on it, so the figure measures worker hosts (as on real worker machines). Every process of
   the five hosts runs at nice -10, and their scheduler autogroup at -20 (Linux's autogroups make `nice` count
   only inside a session: without it a neighbour's test run in another session took half of both CPUs), so
   other work on a shared machine does not decide the figures;
2. cpu-b joins while the load runs: it must claim a prediction within 10 s of being ready; then both hosts
   for the same window: throughput r2. Each host must finish >= 35 % of that window's calls, the calls per
   worker-CPU-second must stay >= 0.85x one host's, and r2 >= 1.7 x r1 unless the machine's CPUs were >= 90 %
   busy (then the hosts got all this 2-core box could give: a wall-clock ratio on a shared machine is not the
   platform's to promise, and CI once measured 1.64x that way);
3. faults under load: SIGKILL every process of cpu-a, start it again, take its link down mid-load, bring it
   back; then drain and check: no accepted prediction lost, none charged twice, every success charged once,
   `check_ledger` balanced.

Figures go to test-artifacts/multihost.json (the README quotes them).
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
NET = "10.213.15"
HOSTS = {"db": 2, "web": 3, "cpua": 4, "cpub": 5, "trainer": 6}
WINDOW = float(os.environ.get("MULTIHOST_WINDOW_SECONDS", "40"))
CLIENTS = 32
# The hosts' scheduler autogroup weighs ~87x a neighbour session at nice 0 (-10 was ~9x: other sessions' test
# runs still took ~12% of the CPUs and the workers' share of their CPU fell to 0.8).
AUTOGROUP_NICE = "-20"
pytestmark = pytest.mark.multihost


def sh(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), check=False, capture_output=True, text=True, **kwargs)
    if check and result.returncode:
        raise AssertionError(f"{' '.join(args)[:300]} -> {result.returncode}: {result.stderr[-2000:]}")
    return result


def addr(host: str) -> str:
    return f"{NET}.{HOSTS[host]}"


class Network:
    """Namespaces, a bridge in the root namespace, and one veth pair per host."""

    def __init__(self, tag: str):
        self.tag = tag
        self.bridge = f"mhbr{tag}"

    def ns(self, host: str) -> str:
        return f"mh{self.tag}{host}"

    def veth(self, host: str) -> str:
        return f"mh{self.tag}{host}"[:15]

    def up(self) -> None:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{NET}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for host, last in HOSTS.items():
            ns, veth = self.ns(host), self.veth(host)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", self.bridge)
            sh("ip", "link", "set", veth, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{NET}.{last}/24", "dev", "eth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def link(self, host: str, state: str) -> None:
        sh("ip", "link", "set", self.veth(host), state)

    def kill_all(self, host: str, sig: int = signal.SIGKILL) -> list[int]:
        pids = [int(p) for p in sh("ip", "netns", "pids", self.ns(host), check=False).stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pids

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by the live processes of each host, for where-the-time-goes."""
        used: dict[str, float] = {}
        for host in HOSTS:
            total = 0.0
            for pid in sh("ip", "netns", "pids", self.ns(host), check=False).stdout.split():
                with contextlib.suppress(psutil.Error):
                    times = psutil.Process(int(pid)).cpu_times()
                    total += times.user + times.system
            used[host] = total
        own = psutil.Process().cpu_times()
        used["client"] = own.user + own.system  # this process: the 32 load-generating threads
        return used

    def affinity(self, hosts: list[str]) -> dict[str, list]:
        """The CPUs each host's processes may run on (taskset), to show the pinning held."""
        found: dict[str, list] = {}
        for host in hosts:
            for pid in sh("ip", "netns", "pids", self.ns(host), check=False).stdout.split():
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(int(pid))
                    found.setdefault(host, []).append([process.name(), process.cpu_affinity()])
        return found

    def raise_priority(self, host: str) -> None:
        """AUTOGROUP_NICE for the autogroup of every process of the host: daemons such as PostgreSQL start
        sessions of their own, and a session's autogroup weighs as much as any other's, whatever its nice."""
        for pid in sh("ip", "netns", "pids", self.ns(host), check=False).stdout.split():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/autogroup").write_text(AUTOGROUP_NICE)

    def down(self) -> None:
        for host in HOSTS:
            self.kill_all(host)
        time.sleep(0.5)
        for host in HOSTS:
            sh("ip", "netns", "del", self.ns(host), check=False)
        sh("ip", "link", "del", self.bridge, check=False)


def in_host(net: Network, host: str, command: list[str], *, cpu: int | None = None,
            user: str | None = None) -> list[str]:
    """A command run inside `host`'s network namespace, with its own hostname, optionally pinned and as `user`."""
    inner = command
    if cpu is not None:
        inner = ["taskset", "-c", str(cpu), *inner]
    if user:
        inner = ["runuser", "-u", user, "--", *inner]
    # Raised priority: on a shared development machine other work must not take the hosts' CPUs from them, or
    # the throughput figures measure the neighbours instead of the platform. (Set as root, kept across runuser.)
    inner = ["nice", "-n", "-10", *inner]
    name = {"cpua": "cpu-a", "cpub": "cpu-b"}.get(host, host)
    return ["ip", "netns", "exec", net.ns(host), "unshare", "--uts", "sh", "-c",
            f'hostname {name} && exec "$@"', "sh", *inner]


def _long_text(index: int, n: int) -> str:
    """~400 tokens: each call costs a worker tens of milliseconds of CPU, far more than the web host and the
    database spend on it, so the throughput measures worker hosts (as on real GPU/CPU worker machines)."""
    sentence = f"the quarterly results beat every forecast and the shares rose sharply after the call {index} {n}"
    return " ".join([sentence] * 24)


class Load:
    """32 clients, each its own user and API key, sending paid predictions and waiting for their result."""

    def __init__(self, base: str, app: str, keys: list[str]):
        self.base, self.app, self.keys = base, app, keys
        self.accepted: dict[str, str] = {}  # prediction id -> last status seen
        self.completed: list[float] = []  # monotonic time each client saw `succeeded`
        self.errors: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _client(self, key: str, index: int) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {key}"})
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                response = session.post(f"{self.base}/api/v1/apps/{self.app}/predictions/", timeout=60,
                                        json={"input": {"text": _long_text(index, n)},
                                              "max_price": "1.000000"},
                                        headers={"Prefer": "wait=20"})
            except requests.RequestException as exc:
                with self._lock:
                    self.errors.append(f"post: {exc}")
                time.sleep(0.5)
                continue
            if response.status_code not in (201, 202):
                with self._lock:
                    self.refused += 1
                    self.errors.append(f"post {response.status_code}: {response.text[:200]}")
                time.sleep(0.5)
                continue
            body = response.json()
            with self._lock:
                self.accepted[body["id"]] = body["status"]
            while body["status"] not in ("succeeded", "failed", "canceled") and not self._stop.is_set():
                time.sleep(0.2)
                try:
                    body = session.get(f"{self.base}/api/v1/predictions/{body['id']}/", timeout=30).json()
                except (requests.RequestException, ValueError):
                    continue
            with self._lock:
                self.accepted[body["id"]] = body["status"]
                if body["status"] == "succeeded":
                    self.completed.append(time.monotonic())

    def start(self) -> "Load":
        self._stop.clear()
        self._threads = [threading.Thread(target=self._client, args=(key, i), daemon=True)
                         for i, key in enumerate(self.keys[:CLIENTS])]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def rate(self, since: float, until: float) -> float:
        with self._lock:
            return sum(1 for t in self.completed if since <= t < until) / (until - since)


def _cores(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores each host (and the load generator, `client`) kept busy over a window."""
    return {host: round(max(after[host] - before.get(host, 0.0), 0.0) / seconds, 2) for host in after}


def _per_worker_cpu_speedup(figures: dict) -> float:
    """Calls per worker-CPU-second with two hosts over that with one: ~1 when a host adds capacity without
    making each call dearer, whatever CPU the machine could spare them."""
    one = figures["one_host_per_s"] / max(figures["one_host_cpu_cores"]["cpua"], 1e-9)
    two_cores = figures["two_hosts_cpu_cores"]["cpua"] + figures["two_hosts_cpu_cores"]["cpub"]
    return round(figures["two_hosts_per_s"] / max(two_cores, 1e-9) / max(one, 1e-9), 2)


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: [int(x) for x in p.name.split(".")])
    return versions[-1] / "bin"


def autogroup_nice(path: Path) -> str | None:
    """The autogroup's nice ("/autogroup-85 nice 0"), or None where the kernel has no autogroups or shows none
    (some containers give an empty file): then the hosts run without the boost, not fail."""
    try:
        fields = path.read_text().split()
    except OSError:
        return None
    return fields[-1] if len(fields) >= 3 and fields[-2] == "nice" else None


def test_five_hosts_survive_worker_loss_and_scale_out():
    assert os.geteuid() == 0, "the multi-host test makes network namespaces: run it as root (make test-multihost)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modelmarket-multihost-"))  # postgres (the user) must reach its data dir
    os.chmod(work, 0o755)  # noqa: S103
    tag = str(os.getpid() % 10000)
    net = Network(tag)
    procs: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    figures: dict = {"clients": CLIENTS, "window_seconds": WINDOW}
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@{addr('db')}:5432/modelmarket",
           "CELERY_BROKER_URL": f"redis://{addr('db')}:6379/0", "CACHE_URL": f"redis://{addr('db')}:6379/1",
           # As in production (DEBUG off: no query log, no debug pages), with the secrets production requires.
           "DEBUG": "False", "SECRET_KEY": f"multihost-{os.getpid()}-" + "k" * 50, "SECURE_SSL_REDIRECT": "False",
           "SECURE_HSTS_SECONDS": "0", "PREDICTION_ENCRYPTION_KEYS": "bXVsdGlob3N0LW9ubHkta2V5LTMyLWJ5dGVzLWxvbmc=",
           "ALLOWED_HOSTS": "*", "API_KEY_RATE": "100000/min", "HF_HUB_OFFLINE": "1",
           "PRIVATE_MEDIA_ROOT": str(work / "shared-storage"), "MEDIA_ROOT": str(work / "media"),
           "MODELMARKET_VAR_DIR": str(work / "var"), "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json",
           "LOG_LEVEL": "WARNING", "REQUEST_LOG_LEVEL": "WARNING", "DB_CONN_MAX_AGE": "60",
           # A killed worker's unacked messages come back after this long (redelivery is idempotent).
           "CELERY_VISIBILITY_TIMEOUT": "20", "METRICS_TOKEN": f"multihost-{os.getpid()}-token"}
    for key in ("MODELMARKET_DB_NAME_OVERRIDE", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)

    def start(name: str, host: str, command: list[str], extra_env: dict | None = None, **kwargs) -> subprocess.Popen:
        logs[name] = ARTIFACTS / f"multihost-{name}.log"
        with open(logs[name], "ab") as log:
            procs[name] = subprocess.Popen(in_host(net, host, command, **kwargs), cwd=ROOT,
                                           env={**env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT)
        return procs[name]

    def worker(host: str, cpu: int) -> subprocess.Popen:
        # A host reserves at most `--concurrency` messages (prefetch multiplier 1). This version runs one call per
        # forward pass, so 4 is plenty; 32 would let cpu-a hold every client's call while cpu-b sits idle.
        return start(host, host, [sys.executable, "manage.py", "inference_worker", "--concurrency", "4",
                                  "--extra-queues", ""], cpu=cpu)

    autogroup = Path("/proc/self/autogroup")
    old_nice = autogroup_nice(autogroup)
    try:
        if old_nice is not None:
            with contextlib.suppress(OSError):  # the hosts (and the load generator) start in this autogroup
                autogroup.write_text(AUTOGROUP_NICE)
        net.up()
        # --- db host: its own PostgreSQL cluster and Redis ---------------------------------------------------
        pgdata = work / "pgdata"
        pgdata.mkdir()
        shutil.chown(pgdata, "postgres", "postgres")
        sh("runuser", "-u", "postgres", "--", str(_pg_bin() / "initdb"), "-D", str(pgdata), "-A", "trust",
           "-U", "postgres", "--no-sync")
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {NET}.0/24 trust\n")
        sh(*in_host(net, "db", [str(_pg_bin() / "pg_ctl"), "start", "-D", str(pgdata), "-l", str(pgdata / "log"), "-w",
                                "-o", f"-c listen_addresses={addr('db')} -p 5432 -k {pgdata} -c fsync=off "
                                      "-c max_connections=300"], user="postgres"))
        start("redis", "db", ["redis-server", "--bind", addr("db"), "--port", "6379", "--save", "",
                              "--appendonly", "no", "--protected-mode", "no"])
        _wait(lambda: sh("psql", "-h", addr("db"), "-U", "postgres", "-c", "select 1", check=False).returncode == 0,
              30, "PostgreSQL on the db host")
        sh("psql", "-h", addr("db"), "-U", "postgres", "-c", "create database modelmarket")
        sh(sys.executable, "manage.py", "migrate", "--noinput", cwd=ROOT, env=env, timeout=600)
        world = sh(sys.executable, "tests/multihost/world.py", "setup", str(work / "models"), cwd=ROOT, env=env,
                   timeout=600)
        setup = json.loads(world.stdout.split("RESULT ", 1)[1])
        # --- web host and the trainer ------------------------------------------------------------------------
        start("web", "web", [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"{addr('web')}:8000", "-w", "2",
                             "-k", "gthread", "--threads", "32", "--graceful-timeout", "20",
                             "--control-socket", str(work / "gunicorn.ctl"), "-c", "config/gunicorn_conf.py"],
              extra_env={"PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus")})  # /metrics sums both processes
        start("trainer", "trainer", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q",
                                     "training,webhooks,default", "-c", "1", "--without-gossip", "--without-mingle",
                                     "-n", "trainer@%h"])
        base = f"http://{addr('web')}:8000"
        _wait(lambda: requests.get(f"{base}/readyz", timeout=5).ok if _reachable(base) else False, 120, "web ready")
        load = Load(base, setup["app"], setup["keys"])

        # --- phase 1: one worker host -----------------------------------------------------------------------
        worker("cpua", 0)
        _wait(lambda: _heartbeats(env, ["cpu-a"]), 600, "cpu-a's worker")
        load.start()
        _wait(lambda: len(load.completed) >= CLIENTS, 300, "the first predictions (model warm-up)")
        for host in HOSTS:
            net.raise_priority(host)
        t0, cpu0 = time.monotonic(), net.cpu_seconds()
        psutil.cpu_percent(percpu=True)
        time.sleep(WINDOW)
        figures["one_host_machine_cpu_percent"] = psutil.cpu_percent(percpu=True)
        figures["one_host_per_s"] = round(load.rate(t0, time.monotonic()), 2)
        figures["one_host_cpu_cores"] = _cores(cpu0, net.cpu_seconds(), time.monotonic() - t0)

        # --- phase 2: cpu-b joins under load, then both hosts -----------------------------------------------
        started = time.monotonic()
        worker("cpub", 1)
        _wait(lambda: _heartbeats(env, ["cpu-b"]), 600, "cpu-b's worker")
        ready_at = time.monotonic()
        _wait(lambda: _claimed_by(env, "cpu-b"), 60, "cpu-b to take work")
        figures["late_host_first_claim_after_ready_s"] = round(time.monotonic() - ready_at, 2)
        figures["late_host_first_claim_after_start_s"] = round(time.monotonic() - started, 2)
        # Its model loads (minutes on a busy 2-core box): measure once it has finished predictions of its own.
        _wait(lambda: _succeeded_on(env, "cpu-b") >= 10, 600, "cpu-b's model to be warm")
        figures["late_host_warm_after_start_s"] = round(time.monotonic() - started, 2)
        for host in HOSTS:
            net.raise_priority(host)
        t1, cpu1 = time.monotonic(), net.cpu_seconds()
        figures["worker_affinity"] = net.affinity(["cpua", "cpub"])
        done_before = {host: _succeeded_on(env, host) for host in ("cpu-a", "cpu-b")}
        psutil.cpu_percent(percpu=True)
        time.sleep(WINDOW)
        figures["two_hosts_machine_cpu_percent"] = psutil.cpu_percent(percpu=True)
        figures["two_hosts_per_s"] = round(load.rate(t1, time.monotonic()), 2)
        figures["two_hosts_cpu_cores"] = _cores(cpu1, net.cpu_seconds(), time.monotonic() - t1)
        done = {host: _succeeded_on(env, host) - done_before[host] for host in done_before}
        figures["two_hosts_share"] = {host: round(n / max(sum(done.values()), 1), 2) for host, n in done.items()}
        figures["speedup"] = round(figures["two_hosts_per_s"] / max(figures["one_host_per_s"], 1e-9), 2)
        figures["per_worker_cpu_speedup"] = _per_worker_cpu_speedup(figures)

        # --- phase 3: faults under load -----------------------------------------------------------------------
        killed = net.kill_all("cpua")  # SIGKILL every process on cpu-a (worker, its children, the shell)
        figures["cpu_a_processes_killed"] = len(killed)
        time.sleep(5)
        worker("cpua", 0)
        _wait(lambda: _heartbeats(env, ["cpu-a"]), 600, "cpu-a back after SIGKILL")
        time.sleep(5)
        net.link("cpua", "down")  # mid-load: cpu-a holds predictions it cannot finish or ack
        time.sleep(15)
        net.link("cpua", "up")
        time.sleep(10)
        load.stop()

        # --- drain and account for every prediction ---------------------------------------------------------
        accepted = dict(load.accepted)
        drain_started = time.monotonic()
        last: dict = {}

        def finished():
            last.update(_report(env))
            return dict(last) if set(last["statuses"]) <= {"succeeded", "failed", "canceled"} else None

        try:
            report = _wait(finished, 420, "every prediction to finish")
        except AssertionError as exc:  # say which rows hang, and where they were, not just that some did
            raise AssertionError(f"{exc}: {json.dumps(last, default=str)[:4000]}") from None
        finally:
            figures["drain_seconds"] = round(time.monotonic() - drain_started, 1)
            figures["last_report"] = last
        figures.update({
            "accepted": len(accepted), "report": report, "client_errors": load.errors[:10],
            "client_error_count": len(load.errors),
        })
        check = sh(sys.executable, "manage.py", "check_ledger", cwd=ROOT, env=env, check=False)
        metrics = requests.get(f"{base}/metrics", timeout=30,
                               headers={"Authorization": f"Bearer {env['METRICS_TOKEN']}"})
        (ARTIFACTS / "multihost-metrics.txt").write_text(metrics.text)
        figures["metrics_status"] = metrics.status_code
        figures["check_ledger"] = check.stdout.strip().splitlines()[-1] if check.stdout else check.stderr[-300:]
    finally:
        if old_nice is not None:
            with contextlib.suppress(OSError):
                autogroup.write_text(old_nice)
        (ARTIFACTS / "multihost.json").write_text(json.dumps(figures, indent=2, default=str))
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        net.down()
        sh("runuser", "-u", "postgres", "--", str(_pg_bin() / "pg_ctl"), "-D", str(work / "pgdata"), "-m",
           "immediate", "stop", check=False)
        shutil.rmtree(work, ignore_errors=True)

    # 0 lost: every prediction the API accepted is in the database and succeeded (none failed or hangs).
    assert sum(report["statuses"].values()) >= len(accepted) > 0, (len(accepted), report)
    assert report["statuses"].get("succeeded", 0) == sum(report["statuses"].values()), report
    assert report["charged_more_than_once"] == [], report
    assert report["succeeded_not_charged"] == [] and report["charged_not_succeeded"] == [], report
    assert report["ledger_ok"] and check.returncode == 0, (report["ledger_problems"], check.stdout, check.stderr)
    assert figures["late_host_first_claim_after_ready_s"] <= 10, figures
    # Scale-out: the late host takes its half of the work, and no call costs the workers more CPU with two hosts
    # than with one (no shared part - database, broker, web - makes them wait or spin).
    assert min(figures["two_hosts_share"].values()) >= 0.35, figures
    assert figures["per_worker_cpu_speedup"] >= 0.85, figures
    # Two hosts serve >= 1.7x one host's calls unless this machine had no CPU left to give them (2 cores shared
    # with the web host, the database, the trainer and the load generator; a VM's stolen time counts as busy).
    machine_busy = sum(figures["two_hosts_machine_cpu_percent"]) / len(figures["two_hosts_machine_cpu_percent"])
    assert figures["speedup"] >= 1.7 or machine_busy >= 90, figures


def _reachable(base: str) -> bool:
    try:
        requests.get(f"{base}/livez", timeout=3)
        return True
    except requests.RequestException:
        return False


def _query(env: dict, sql: str) -> str:
    host = env["DATABASE_URL"].split("@")[1].split(":")[0]
    return sh("psql", "-h", host, "-U", "postgres", "-d", "modelmarket", "-tAc", sql, check=False).stdout.strip()


def _heartbeats(env: dict, hosts: list[str]) -> bool:
    rows = _query(env, "select hostname from inference_workerheartbeat where last_seen > now() - interval '60 s'")
    return all(any(row.endswith(f"@{host}") for row in rows.splitlines()) for host in hosts)


def _succeeded_on(env: dict, host: str) -> int:
    assert host.replace("-", "").isalnum()
    sql = f"select count(*) from inference_prediction where status = 'succeeded' and worker like '%@{host} %'"  # noqa: S608
    return int(_query(env, sql) or 0)


def _claimed_by(env: dict, host: str) -> bool:
    assert host.replace("-", "").isalnum()
    sql = f"select count(*) from inference_prediction where worker like '%@{host} %'"  # noqa: S608 - our own names
    return _query(env, sql) not in ("", "0")


def _report(env: dict) -> dict:
    out = sh(sys.executable, "tests/multihost/world.py", "report", cwd=ROOT, env=env, timeout=120).stdout
    return json.loads(out.split("RESULT ", 1)[1])
