"""Methods register themselves in METHODS on import; one file per method (or family).

Importing the package imports every module in it, so a new method is one new file with nothing else to edit.
"""

import importlib
import pkgutil

from post_bench.methods.base import METHODS, Method, Planner

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")  # deferred: registry loop (each module registers itself)

__all__ = ["METHODS", "Method", "Planner"]
