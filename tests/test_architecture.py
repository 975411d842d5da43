"""Architecture rules no linter checks for us: no module over 500 lines (outside migrations and tests).

The import contracts are `lint-imports` ([tool.importlinter] in pyproject.toml) and the types are `mypy`; both run
in `make test` and `make lint` before pytest. This file needs no database: `python tests/test_architecture.py`
runs it alone (as `make lint` does) and lists the offenders.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500
# Not our own code, or code the rule leaves alone: generated migrations, the tests, tools' and build folders.
# (Hidden folders, .venv and .git among them, are skipped too.)
SKIPPED_DIRS = {"venv", "node_modules", "migrations", "tests", "var", "test-artifacts", "build", "dist",
                "staticfiles", "__pycache__"}


def own_modules(root: Path = ROOT) -> list[Path]:
    """Every Python module of the repository's own packages (config, the apps, bench/, clients/, deploy/...)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        found.append(path)
    return found


def long_modules(root: Path = ROOT, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    long = []
    for path in own_modules(root):
        with path.open("rb") as handle:
            lines = sum(1 for _line in handle)
        if lines > limit:
            long.append((str(path.relative_to(root)), lines))
    return long


def test_no_module_over_500_lines():
    long = long_modules()
    assert not long, "Split these modules (one topic each, shared/ARCHITECTURE.md): " + ", ".join(
        f"{name} ({lines} lines)" for name, lines in long)


def test_the_walk_covers_the_whole_repository_but_migrations_and_tests(tmp_path):
    for name in ("config/settings.py", "bench/serving/servers.py", "clients/python/modelmarket/client.py",
                 "billing/migrations/0001_initial.py", "tests/test_x.py", ".venv/lib/x.py", "var/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n" * 501)
    assert {str(path.relative_to(tmp_path)) for path in own_modules(tmp_path)} == {
        "config/settings.py", "bench/serving/servers.py", "clients/python/modelmarket/client.py"}
    assert sorted(long_modules(tmp_path)) == [("bench/serving/servers.py", 501),
                                             ("clients/python/modelmarket/client.py", 501),
                                             ("config/settings.py", 501)]
    assert own_modules(ROOT), "the walk found none of our own modules"
    assert ROOT / "manage.py" in own_modules(ROOT)


if __name__ == "__main__":
    offenders = long_modules()
    for name, lines in offenders:
        print(f"{name}: {lines} lines (at most {MAX_LINES}; split it into a package, one topic per module)")
    print(f"{len(own_modules())} modules checked, {len(offenders)} over {MAX_LINES} lines")
    sys.exit(1 if offenders else 0)
