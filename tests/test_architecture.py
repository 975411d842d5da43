"""Architecture rules no linter checks for us: no module over 500 lines (outside migrations and tests),
templates without inline CSS or JavaScript (styles and scripts live in static/), and one way to read a product
setting (a typed entry of config/settings.py, read as `settings.X` when the code runs).

The import contracts are `lint-imports` ([tool.importlinter] in pyproject.toml) and the types are `mypy`; both run
in `make test` and `make lint` before pytest. This file needs no database: `python tests/test_architecture.py`
runs it alone (as `make lint` does) and lists the offenders.
"""
from __future__ import annotations

import ast
import re
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


# Inline CSS and JavaScript in templates: <style> blocks, style="" attributes, <script> with code in it, event
# handler attributes (onclick=...) and javascript: URLs. A <script src=...> and a JSON data block are fine.
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*["'{]""", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"""\son[a-z]{3,}\s*=\s*["']""", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
DATA_TYPES = ("application/json", "application/ld+json")


def template_files(root: Path = ROOT) -> list[Path]:
    """The project's templates: templates/ and each app's templates/ folder."""
    return sorted(path for path in root.rglob("*.html")
                  if "templates" in path.relative_to(root).parts
                  and not any(part in SKIPPED_DIRS or part.startswith(".") for part in path.relative_to(root).parts))


def inline_code(text: str) -> list[str]:
    """What in one template's text is inline CSS or JavaScript, one short description each."""
    found = [f"<style> block at line {text[:m.start()].count(chr(10)) + 1}" for m in STYLE_BLOCK.finditer(text)]
    found += [f"style attribute at line {text[:m.start()].count(chr(10)) + 1}" for m in STYLE_ATTRIBUTE.finditer(text)]
    found += [f"event handler attribute at line {text[:m.start()].count(chr(10)) + 1}"
              for m in HANDLER_ATTRIBUTE.finditer(text)]
    found += [f"javascript: URL at line {text[:m.start()].count(chr(10)) + 1}" for m in JS_URL.finditer(text)]
    for m in SCRIPT.finditer(text):
        attributes, body = m.group(1), m.group(2)
        script_type = re.search(r"""type\s*=\s*["']?([^"'\s>]+)""", attributes)
        if script_type and script_type.group(1).lower() in DATA_TYPES:
            continue
        if "src=" in attributes.replace(" ", "") and not body.strip():
            continue
        found.append(f"inline <script> at line {text[:m.start()].count(chr(10)) + 1}")
    return found


def templates_with_inline_code(root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}: {problem}" for path in template_files(root)
            for problem in inline_code(path.read_text(encoding="utf-8"))]


def test_templates_have_no_inline_css_or_javascript():
    assert template_files(), "no templates found"
    problems = templates_with_inline_code()
    assert not problems, ("Move styles to static/css/ (classes, not style attributes) and scripts to static/js/ "
                          "(loaded with {% static %} and defer): " + "; ".join(problems))


def test_the_template_check_finds_each_kind_of_inline_code():
    allowed = """<script src="{% static 'js/app.js' %}" defer></script>
<script id="data" type="application/json">{"a": 1}</script>
<p class="one">Bonjour, one=two</p><select data-autosubmit></select>"""
    assert inline_code(allowed) == []
    assert inline_code('<div style="margin:0">') == ["style attribute at line 1"]
    assert inline_code("<p>\n<style>p{}</style>") == ["<style> block at line 2"]
    assert inline_code("<script>\nvar x = 1;\n</script>") == ["inline <script> at line 1"]
    assert inline_code('<script src="a.js">alert(1)</script>') == ["inline <script> at line 1"]
    assert inline_code('<select onchange="this.form.submit()">') == ["event handler attribute at line 1"]
    assert inline_code('<a href="javascript:void(0)">') == ["javascript: URL at line 1"]



# One way to read a product setting (shared/ARCHITECTURE.md "Settings"): a typed module-level entry of
# config/settings.py, read as `settings.X` when the code runs, so tests can override it with the `settings` fixture.
# No dicts of product settings (`settings.MODELMARKET["X"]`), no per-app defaults (`getattr(settings, "X", 1)`,
# `_conf()` helpers, `conf.py` modules), and no copy taken at import time (a module constant, a class attribute,
# a default argument), which an override would never reach.
SETTINGS_MODULES = ("config/settings.py", "config/settings_test.py")
REMOVED_SETTINGS_DICTS = {"MODELMARKET", "BILLING", "PRIVACY"}
CONF_HELPERS = {"_conf", "conf", "get_conf", "get_setting", "_setting"}
CONF_MODULES = {"conf.py", "app_settings.py"}


def settings_entries(root: Path = ROOT) -> tuple[set[str], set[str]]:
    """The names config/settings.py defines at module level, and those of them that carry a type annotation."""
    tree = ast.parse((root / "config" / "settings.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    typed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
            typed.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names, typed


def _settings_aliases(tree: ast.Module) -> set[str]:
    """The names `django.conf.settings` is bound to in a module (`settings`, or an `as` alias)."""
    return {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module == "django.conf" for alias in node.names if alias.name == "settings"}


def _import_time_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node that runs when the module is imported: module and class bodies, default arguments and
    decorators, but not function bodies."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            pending += [value for value in (*arguments.defaults, *arguments.kw_defaults) if value is not None]
            if not isinstance(node, ast.Lambda):
                pending += node.decorator_list
                pending += [node.returns] if node.returns else []
            continue
        pending += list(ast.iter_child_nodes(node))
    return found


def settings_read_problems(path: Path, root: Path = ROOT) -> list[str]:
    """What in one module reads a product setting another way than `settings.X` at call time."""
    rel = path.relative_to(root).as_posix()
    if rel in SETTINGS_MODULES:
        return []
    problems = [f"{rel}: a settings module of its own; add the entries to config/settings.py"
                for _ in [path.name] if path.name in CONF_MODULES]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems += [f"{rel}:{node.lineno}: {node.name}() keeps settings defaults of its own; read settings.X"
                 for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in CONF_HELPERS]
    aliases = _settings_aliases(tree)
    if not aliases:
        return problems
    names, typed = settings_entries(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr in REMOVED_SETTINGS_DICTS:
                problems.append(f"{rel}:{node.lineno}: settings.{node.attr} is gone; read its flat entry settings.X")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) > 2 and isinstance(node.args[0], ast.Name) and node.args[0].id in aliases):
            problems.append(f"{rel}:{node.lineno}: getattr(settings, ..., default) keeps a default of its own; "
                            "give the entry its one default in config/settings.py and read settings.X")
    for node in _import_time_nodes(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr in typed):
            problems.append(f"{rel}:{node.lineno}: settings.{node.attr} is read at import time; read it when the "
                            "code runs (tests and operators change it)")
    return problems


def settings_reads_problems(root: Path = ROOT) -> list[str]:
    return [problem for path in own_modules(root) for problem in settings_read_problems(path, root)]


def test_product_settings_are_read_one_way():
    problems = settings_reads_problems()
    assert not problems, "One way to read a product setting (shared/ARCHITECTURE.md): " + "; ".join(problems)


def test_product_settings_are_flat_typed_entries():
    names, typed = settings_entries()
    assert not names & REMOVED_SETTINGS_DICTS, "config/settings.py still defines a dict of product settings"
    for name in ("PLATFORM_FEE", "CURRENCY", "MAX_ARTIFACT_BYTES", "TRAINING_STALE_SECONDS",
                 "BILLING_COST_PER_SECOND", "BILLING_PAYOUT_THRESHOLD", "PRIVACY_EXPORT_TTL_HOURS",
                 "COMMUNITY_HIDE_THRESHOLD", "MAX_API_KEYS_PER_USER"):
        assert name in typed, f"{name} is not a typed entry of config/settings.py"


def test_the_settings_check_finds_each_other_way(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.py").write_text("from decimal import Decimal\nFEE: Decimal = Decimal('0.2')\n"
                                                     "MODELMARKET = {'FEE': FEE}\nDEBUG = True\n")
    (tmp_path / "app").mkdir()
    good = tmp_path / "app" / "good.py"
    good.write_text("from django.conf import settings\nX = settings.DEBUG\n\n\n"
                    "def fee():\n    return settings.FEE\n")
    bad = tmp_path / "app" / "bad.py"
    bad.write_text("from django.conf import settings as s\nFEE = s.FEE\n\n\n"
                   "class Form:\n    fee = s.FEE\n\n\n"
                   "def f(fee=s.FEE):\n    return s.MODELMARKET['FEE'], getattr(s, 'FEE', 1)\n\n\n"
                   "def _conf():\n    return {}\n")
    (tmp_path / "app" / "conf.py").write_text("LIMIT = 1\n")
    assert settings_read_problems(good, tmp_path) == []
    problems = settings_read_problems(bad, tmp_path)
    assert [problem.split(": ", 1)[0] for problem in sorted(problems)] == [
        "app/bad.py:10", "app/bad.py:10", "app/bad.py:13", "app/bad.py:2", "app/bad.py:6", "app/bad.py:9"]
    assert settings_read_problems(tmp_path / "app" / "conf.py", tmp_path) == [
        "app/conf.py: a settings module of its own; add the entries to config/settings.py"]

if __name__ == "__main__":
    offenders = long_modules()
    for name, lines in offenders:
        print(f"{name}: {lines} lines (at most {MAX_LINES}; split it into a package, one topic per module)")
    print(f"{len(own_modules())} modules checked, {len(offenders)} over {MAX_LINES} lines")
    inline = templates_with_inline_code()
    for problem in inline:
        print(f"{problem} (move it to static/)")
    print(f"{len(template_files())} templates checked, {len(inline)} with inline CSS or JavaScript")
    settings_problems = settings_reads_problems()
    for problem in settings_problems:
        print(problem)
    print(f"{len(settings_problems)} product settings read another way than settings.X at call time")
    sys.exit(1 if offenders or inline or settings_problems else 0)
