"""``post-bench ls``: the names a suite can use."""

from __future__ import annotations

import click

from post_bench.attacks.base import ATTACKS
from post_bench.data import dataset_names
from post_bench.methods import METHODS
from post_bench.models.loading import model_names


def list_names(what: str) -> int:
    if what == "methods":
        for name in METHODS.names():
            click.echo(f"{name:<16} {METHODS.get(name).description}")
    elif what == "attacks":
        for name in ATTACKS.names():
            cls = ATTACKS.get(name)
            variants = f" [variants: {', '.join(cls.variants)}]" if len(cls.variants) > 1 else ""
            click.echo(f"{name:<12} {cls.kind:<10} {cls.description}{variants}")
    elif what == "datasets":
        for name in [*dataset_names(), "hf:<name>[:<config>]", "path:<csv|jsonl|tsv>"]:
            click.echo(name)
    else:
        for name in model_names():
            click.echo(name)
    return 0
