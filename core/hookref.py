"""The hook reference, generated from core/hookspecs.py (``officium hooks``)."""

from __future__ import annotations

import inspect
from typing import Any

from core import hookspecs


def hook_functions() -> list[Any]:
    """Every hookspec, in the order they appear in core/hookspecs.py."""
    functions = [f for name, f in vars(hookspecs).items() if name.startswith("officium_") and callable(f)]
    return sorted(functions, key=lambda f: f.__code__.co_firstlineno)


def signature(function: Any) -> str:
    params = ", ".join(inspect.signature(function).parameters)
    return f"{function.__name__}({params})"


def implementers(manager: Any, hook_name: str) -> list[str]:
    """Plugin names implementing a hook, in call order, with tryfirst/trylast marks."""
    caller = getattr(manager.pm.hook, hook_name, None)
    if caller is None:
        return []
    names = []
    for impl in reversed(caller.get_hookimpls()):  # pluggy calls the list last-to-first
        mark = " (tryfirst)" if impl.tryfirst else " (trylast)" if impl.trylast else ""
        names.append(f"{impl.plugin_name}{mark}")
    return names


def render_hooks(manager: Any | None = None, *, markdown: bool = False) -> str:
    """Text (or Markdown) with each hook's signature, docstring and implementers."""
    out: list[str] = []
    if markdown:
        out += [
            "# Hook reference",
            "",
            "Generated from `core/hookspecs.py` by `officium hooks --markdown`; do not edit by hand.",
            "",
            inspect.cleandoc(hookspecs.__doc__ or ""),
            "",
        ]
    for function in hook_functions():
        doc = inspect.cleandoc(function.__doc__ or "")
        if markdown:
            out += [f"## `{signature(function)}`", "", doc, ""]
        else:
            out.append(signature(function))
            out += [f"    {line}".rstrip() for line in doc.splitlines()]
            if manager is not None:
                impls = implementers(manager, function.__name__)
                out.append(f"    implemented by: {', '.join(impls) if impls else '-'}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
