"""Attacks on soft prompts: LiRA (maths, shadows), extraction, audits.

Importing the package imports every module in it, so each attack registers itself in ``ATTACKS``
(``attacks.base``) with nothing else to edit: a new attack is one new file. The modules import torch only
inside the functions that need it, so importing the registry stays light.
"""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")  # deferred: registry loop (each module registers itself)
