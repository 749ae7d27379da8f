"""The documentation that is generated stays current."""

from pathlib import Path

from core.hookref import render_hooks

ROOT = Path(__file__).resolve().parents[2]


def test_docs_hooks_md_is_generated_from_the_hookspecs():
    assert (ROOT / "docs" / "hooks.md").read_text() == render_hooks(markdown=True), (
        "docs/hooks.md is stale: run 'officium hooks --markdown > docs/hooks.md'"
    )


def test_every_doc_linked_from_the_readme_exists():
    import re

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(((?:docs)/[^)#]+)\)", readme):
        assert (ROOT / target).exists(), f"README links to missing {target}"
