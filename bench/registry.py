"""The benchmark registry: core's benchmarks and any a plugin adds in ``bench/plugins/``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """What one benchmark measured: our path and the raw SQLAlchemy Core baseline of the same work."""

    name: str
    n: int
    seconds: float
    baseline_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else None


@dataclass(frozen=True)
class Benchmark:
    name: str
    function: Callable[..., list[Result]]
    n: int
    quick_n: int
    description: str


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, *, n: int, quick_n: int) -> Callable[[Callable[..., list[Result]]], Callable]:
    """Register ``function(ctx, n) -> [Result, ...]`` under ``name`` with its full and quick sizes."""

    def register(function: Callable[..., list[Result]]) -> Callable[..., list[Result]]:
        BENCHMARKS[name] = Benchmark(name, function, n, quick_n, (function.__doc__ or "").strip())
        return function

    return register


def load_plugin_benchmarks() -> None:
    """Import every module in bench/plugins/ (each registers its benchmarks when imported)."""
    folder = Path(__file__).parent / "plugins"
    for module in pkgutil.iter_modules([str(folder)]):
        importlib.import_module(f"bench.plugins.{module.name}")
