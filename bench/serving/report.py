"""The results: issue 9's targets computed from one run, and the table printed at the end."""
from __future__ import annotations

from .common import CONFIG_LABELS, fmt


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


def _split(r: dict) -> str:
    """Where a call's CPU went: the web processes + the workers + PostgreSQL and Redis, in ms per call."""
    parts = [r.get("web_cpu_ms_per_req"), r.get("worker_cpu_ms_per_req"), r.get("data_cpu_ms_per_req")]
    return "-" if all(part is None for part in parts) else " + ".join(fmt(part) for part in parts)


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
              f"{'errors':>6} | {'202s':>4} | {'CPU ms/req':>10} | {'server cores':>12} | "
              f"{'web+workers+PG/Redis ms/req':>27} | {'machine cores':>13} | {'mean batch':>10} |")
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
                f"{_split(r):>27} | {fmt(r.get('machine_cores_busy'), '.2f'):>13} | "
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
