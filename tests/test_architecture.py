"""Architecture rules no linter checks for us: no module over 500 lines (outside migrations and tests), and
templates without inline CSS or JavaScript (styles and scripts live in static/).

The import contracts are `lint-imports` ([tool.importlinter] in pyproject.toml) and the types are `mypy`; both run
in `make test` and `make lint` before pytest. This file needs no database: `python tests/test_architecture.py`
runs it alone (as `make lint` does) and lists the offenders.
"""
from __future__ import annotations

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


if __name__ == "__main__":
    offenders = long_modules()
    for name, lines in offenders:
        print(f"{name}: {lines} lines (at most {MAX_LINES}; split it into a package, one topic per module)")
    print(f"{len(own_modules())} modules checked, {len(offenders)} over {MAX_LINES} lines")
    inline = templates_with_inline_code()
    for problem in inline:
        print(f"{problem} (move it to static/)")
    print(f"{len(template_files())} templates checked, {len(inline)} with inline CSS or JavaScript")
    sys.exit(1 if offenders or inline else 0)
