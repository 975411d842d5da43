"""py-spy profiles of the server's processes during an extra 32-client pass, summarised per function."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .clients import Target, print_level, run_level
from .common import BENCH, PYTHON, ROOT, log
from .servers import Server


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
