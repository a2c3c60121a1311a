"""The layering docs/architecture.md promises, read off the imports themselves.

Each rule names a package and what it may not import, directly or through another
of the project's modules (a domain module importing a helper that imports Flask
imports Flask). Imports are read from the source (every `import` and `from ...
import`, at any depth, including those inside functions), so a lazy import cannot
slip past.
"""
import ast
import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("banksim", "bankapi", "chaos", "loadtests", "scenarios", "seed")
MAX_LINES = 400

GEVENT = {"locust", "gevent", "geventhttpclient"}

# package (or module prefix) -> top-level names it must never import
RULES = {
    "bankapi": {"loadtests", "seed", "locust", "banksim"},
    "chaos": {"bankapi", "loadtests", "seed", "locust", "banksim"},
    "seed": {"loadtests", "locust", "chaos", "flask", "apiflask", "banksim"},
    "bankapi.domain": {"flask", "apiflask", "werkzeug", "bankapi.web", "chaos"},
    "loadtests": {"bankapi", "chaos", "seed", "banksim"},
    # Locust monkey-patches whoever imports it: only loadtests/phone/ may
    **{room: GEVENT for room in ("loadtests.run", "loadtests.scenario", "loadtests.compare",
                                 "loadtests.report")},
    "scenarios": {"bankapi", "chaos", "seed", "loadtests", "banksim", "locust"},
}
# package -> modules it may import although a rule above names their package: chaos's
# rule schema and its strict field types, so a scenario's chaos rules (and its own numbers
# and flags) are checked offline as the bank checks them
# (chaos is a library that knows no bank; its own row governs what it imports)
ALLOWED = {
    # banksim/environment.py: the shared environment variables and their defaults, a leaf
    **{part: {"banksim.environment"} for part in ("bankapi", "chaos", "seed")},
    "loadtests": {"chaos.schemas", "chaos.fields", "chaos.client", "banksim.environment"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _imports(path: Path) -> frozenset[str]:
    """Absolute names of everything the file imports: `from pkg import mod` names
    `pkg.mod`, `from mod import attr` names `mod.attr` and `mod`."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                names.add(f"{module}.{alias.name}")
                if not _is_module(f"{module}.{alias.name}"):
                    names.add(module)
    return frozenset(names)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _sources(prefix: str):
    folder = ROOT.joinpath(*prefix.split("."))
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def _file_of(name: str) -> Path | None:
    """The project's source file for a module name (or for `module.attribute`)."""
    parts = name.split(".")
    while parts:
        base = ROOT.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if parts[0] in PACKAGES and candidate.is_file():
                return candidate
        parts.pop()
    return None


def _violations(prefix: str, forbidden: set[str], allowed: set[str] = frozenset()) -> list[str]:
    """Each forbidden import reachable from the package, with the chain that reaches it.
    The walk follows the project's own modules and stops at the first forbidden one; an
    allowed module is neither reported nor followed."""
    def within(name: str, rules: set[str]) -> bool:
        return any(name == rule or name.startswith(rule + ".") for rule in rules)

    found = set()
    for start in _sources(prefix):
        chains, queue = {start: [_module_name(start)]}, [start]
        while queue:
            current = queue.pop()
            for name in sorted(_imports(current)):
                if within(name, allowed):
                    continue
                if within(name, forbidden):
                    found.add(f"{' -> '.join(chains[current])} imports {name}")
                    continue
                target = _file_of(name)
                if target is not None and target not in chains:
                    chains[target] = [*chains[current], _module_name(target)]
                    queue.append(target)
    return sorted(found)


@pytest.mark.parametrize("prefix", sorted(RULES))
def test_layer_imports_only_what_it_may(prefix):
    assert _sources(prefix), f"no sources under {prefix}: update the rules"
    assert _violations(prefix, RULES[prefix], ALLOWED.get(prefix, set())) == []


def test_the_rules_can_catch_a_violation(tmp_path, monkeypatch):
    """The checker itself: a domain module importing Flask is reported."""
    fake = tmp_path / "bankapi" / "domain"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from flask import g\n    from ..web import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (fake / "good.py").write_text("from .helper import h\n")
    (fake / "helper.py").write_text("import flask\n")
    assert _violations("bankapi.domain", RULES["bankapi.domain"]) == [
        "bankapi.domain.bad imports bankapi.web",
        "bankapi.domain.bad imports bankapi.web.x",
        "bankapi.domain.bad imports flask",
        "bankapi.domain.bad imports flask.g",
        "bankapi.domain.good -> bankapi.domain.helper imports flask",
        "bankapi.domain.helper imports flask"]


def test_an_allowed_module_lets_nothing_else_of_its_package_through(tmp_path, monkeypatch):
    """loadtests may import chaos.schemas, and still no other chaos module."""
    fake = tmp_path / "loadtests"
    fake.mkdir()
    (fake / "ok.py").write_text("from chaos.schemas import RuleSchema\n")
    (fake / "bad.py").write_text("from chaos import store\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations("loadtests", RULES["loadtests"], ALLOWED["loadtests"]) == [
        "loadtests.bad imports chaos", "loadtests.bad imports chaos.store"]


def test_the_shared_environment_module_is_a_leaf():
    ours = {name.split(".")[0] for name in _imports(ROOT / "banksim" / "environment.py")}
    assert ours & set(PACKAGES) == set()


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_400_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in _sources(package)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


# The web layer's rule (docs/architecture.md, "One rule per layer"): web/ parses,
# authenticates and calls the domain; every write is a domain function, every refusal of
# a request that was understood is a domain exception, and `api_error` is left for the
# protocol. These are the statuses a protocol error may have.
PROTOCOL_STATUSES = {400, 401, 413, 415}
WRITE_STATEMENTS = {"insert", "update", "delete", "dialect_insert", "insert_for"}
SESSION_WRITES = {"add", "add_all", "delete", "merge", "bulk_save_objects"}


def _web_rule_breaks(source: str, name: str) -> list[str]:
    """Where a web module writes or refuses by itself, read off its syntax tree."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "sqlalchemy", "database", ""):
            found += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                      if a.name in WRITE_STATEMENTS]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "api_error":
            status = node.args[0] if node.args else None
            if not (isinstance(status, ast.Constant) and status.value in PROTOCOL_STATUSES):
                found.append(f"{name}:{node.lineno} api_error({ast.unparse(status)}) is "
                             "not a protocol error: raise a domain exception")
        if (isinstance(func, ast.Attribute) and func.attr in SESSION_WRITES
                and ast.unparse(func.value) in ("session", "db.session")):
            found.append(f"{name}:{node.lineno} {ast.unparse(func)}: a write in web/")
    return found


def test_web_writes_and_refuses_only_through_the_domain():
    breaks = []
    for path in _sources("bankapi.web"):
        if path.name == "errors.py":  # the one place that maps refusals to statuses
            continue
        breaks += _web_rule_breaks(path.read_text(), str(path.relative_to(ROOT)))
    assert breaks == []


def test_the_web_rule_can_catch_a_break():
    source = ("from sqlalchemy import select, update\n"
              "def view():\n"
              "    raise api_error(404, 'not_found', 'no such thing')\n"
              "def ok():\n"
              "    raise api_error(400, 'validation_error', 'bad')\n"
              "def write(session):\n"
              "    session.add(object())\n"
              "    {1}.add(2)\n")
    assert _web_rule_breaks(source, "web/bad.py") == [
        "web/bad.py:1 imports update",
        "web/bad.py:3 api_error(404) is not a protocol error: raise a domain exception",
        "web/bad.py:7 session.add: a write in web/"]
