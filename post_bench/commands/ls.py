"""``post-bench ls``: the names a suite can use."""

from __future__ import annotations

import click

from post_bench.models.loading import model_names


def list_names(what: str) -> int:
    # each listing imports only its own registry (start-up time: the data and attack modules load pandas and torch)
    if what == "methods":
        from post_bench.methods import METHODS  # deferred: start-up time (pydantic)

        for name in METHODS.names():
            click.echo(f"{name:<16} {METHODS.get(name).description}")
    elif what == "attacks":
        from post_bench.attacks.base import ATTACKS, load_attacks  # deferred: start-up time (numpy)

        load_attacks()
        for name in ATTACKS.names():
            cls = ATTACKS.get(name)
            variants = f" [variants: {', '.join(cls.variants)}]" if len(cls.variants) > 1 else ""
            click.echo(f"{name:<12} {cls.kind:<10} {cls.description}{variants}")
    elif what == "datasets":
        from post_bench.data import dataset_names  # deferred: start-up time (pandas)

        for name in [*dataset_names(), "hf:<name>[:<config>]", "path:<csv|jsonl|tsv>"]:
            click.echo(name)
    else:
        for name in model_names():
            click.echo(name)
    return 0
