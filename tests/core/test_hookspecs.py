"""Meta-tests: the hook contract is documented and tested, and plugins keep to core.plugin_api."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core import hookref, hookspecs
from core.testing import run_cli

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
CORE = ROOT / "core"
PLUGINS = ROOT / "plugins"
HOOKSPECS_FILE = CORE / "hookspecs.py"

# Hooks that no code in core/ calls yet: they cannot be exercised until it does. Keep this
# list short; test_hooks_core_does_not_call_are_listed_accurately fails once core calls one.
NOT_CALLED_BY_CORE_YET = {
    "officium_extensible_models",
}


def declared_hookspecs() -> dict[str, ast.FunctionDef]:
    """Functions of core/hookspecs.py decorated with ``@hookspec``, read from the source."""
    tree = ast.parse(HOOKSPECS_FILE.read_text())
    specs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "hookspec":
                    specs[node.name] = node
    return specs


HOOK_NAMES = sorted(declared_hookspecs())


def python_texts(folder: Path, *, exclude: Path | None = None) -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(folder.rglob("*.py")) if path != exclude}


def test_there_are_hookspecs_and_the_reference_lists_them_all():
    assert len(HOOK_NAMES) >= 10
    assert sorted(f.__name__ for f in hookref.hook_functions()) == HOOK_NAMES
    # pluggy sees the same set.
    assert sorted(name for name, f in vars(hookspecs).items() if hasattr(f, "officium_spec")) == HOOK_NAMES


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_hookspec_has_a_docstring(name):
    docstring = ast.get_docstring(declared_hookspecs()[name])
    assert docstring and len(docstring.split()) >= 5, f"{name} needs a docstring saying when it is called"


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_hookspec_name_starts_with_officium(name):
    assert re.fullmatch(r"officium_[a-z][a-z0-9_]*", name)


def test_the_markdown_reference_shows_every_hooks_exact_signature(runner):
    output = run_cli(runner, "hooks", "--markdown").output
    for function in hookref.hook_functions():
        assert f"## `{hookref.signature(function)}`" in output
    assert "## `officium_menu_items(user)`" in output
    assert "## `officium_contacts_merged(source_id, target_id, session)`" in output


def test_every_hook_core_calls_is_exercised_by_a_test():
    """A hook counts when a test file or a test plugin under tests/ names it (this file aside)."""
    texts = "\n".join(python_texts(TESTS, exclude=Path(__file__).resolve()).values())
    untested = [
        name
        for name in HOOK_NAMES
        if name not in NOT_CALLED_BY_CORE_YET and not re.search(rf"\b{name}\b", texts)
    ]
    assert untested == [], f"hooks without a test: {untested}"


def test_hooks_core_does_not_call_are_listed_accurately():
    core_texts = "\n".join(
        path.read_text()
        for path in sorted(CORE.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".html", ".jinja", ".txt") and path != HOOKSPECS_FILE
    )
    assert set(HOOK_NAMES) >= NOT_CALLED_BY_CORE_YET
    called_now = sorted(name for name in NOT_CALLED_BY_CORE_YET if re.search(rf"\b{name}\b", core_texts))
    assert called_now == [], (
        f"core calls {called_now} now: test them and remove them from NOT_CALLED_BY_CORE_YET"
    )


# --- plugins import only core.plugin_api, and never each other ---------------------------------------


def imported_modules(path: Path, root: Path) -> list[str]:
    """Absolute names of the modules a file imports (``from a import b`` counts as ``a.b``)."""
    # The package a relative import starts from: the folder holding the file.
    package = list(path.relative_to(root.parent).parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module.split(".") if node.module else []
            if node.level:
                base = package[: len(package) - node.level + 1] + base
            names += [".".join([*base, alias.name]) for alias in node.names]
    return names


def plugin_import_problems(root: Path) -> list[str]:
    """Imports under a plugins folder breaking the rules: core only via core.plugin_api, no sibling plugin."""
    if not root.is_dir():  # git keeps no empty folder
        return []
    plugin_names = {path.name for path in root.iterdir() if path.is_dir() and path.name != "__pycache__"}
    plugin_names |= {path.stem for path in root.glob("*.py") if path.stem != "__init__"}
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        owner = relative.parts[0].removesuffix(".py")
        for name in imported_modules(path, root):
            parts = name.split(".")
            if parts[0] == "core" and not (name == "core.plugin_api" or name.startswith("core.plugin_api.")):
                problems.append(f"{relative}: imports {name} (use core.plugin_api)")
            elif parts[0] == root.name and len(parts) > 1 and parts[1] in plugin_names and parts[1] != owner:
                problems.append(f"{relative}: imports plugin {parts[1]}")
            elif parts[0] in plugin_names - {owner}:
                problems.append(f"{relative}: imports plugin {parts[0]}")
    return problems


def test_built_in_plugins_import_core_only_through_plugin_api_and_never_each_other():
    assert plugin_import_problems(PLUGINS) == []


def test_the_plugin_import_rules_catch_offenders(tmp_path):
    root = tmp_path / "plugins"
    (root / "crm").mkdir(parents=True)
    (root / "accounting" / "views").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "crm" / "__init__.py").write_text("from core.plugin_api import PluginInfo, hookimpl\n")
    (root / "crm" / "models.py").write_text(
        "from core.plugin_api import Base\nfrom . import hooks\nfrom .hooks import thing\nimport sqlalchemy\n"
    )
    (root / "crm" / "hooks.py").write_text("import core.plugin_api\nfrom core import plugin_api\n")
    (root / "accounting" / "__init__.py").write_text("from core.models import Contact\nimport core\n")
    (root / "accounting" / "views" / "__init__.py").write_text(
        "from plugins.crm.models import Deal\nfrom ...crm import hooks\nfrom core.services import ledger\n"
    )
    (root / "accounting" / "views" / "pages.py").write_text("import crm.models\nfrom .. import models\n")
    assert plugin_import_problems(root) == [
        "accounting/__init__.py: imports core.models.Contact (use core.plugin_api)",
        "accounting/__init__.py: imports core (use core.plugin_api)",
        "accounting/views/__init__.py: imports plugin crm",
        "accounting/views/__init__.py: imports plugin crm",
        "accounting/views/__init__.py: imports core.services.ledger (use core.plugin_api)",
        "accounting/views/pages.py: imports plugin crm",
    ]
