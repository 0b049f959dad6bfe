"""``post-bench audit``: does a given prompt leak its training data? (the work is in :mod:`post_bench.audit`)."""

from __future__ import annotations

import click

from post_bench.audit.inputs import task_options
from post_bench.audit.pipeline import run_audit


def audit_prompt(prompt, *, members, nonmembers, candidates, population, dataset, model, template, label_words,
                 task_file, shadows, canaries, recipe_file, steps, epochs, lr, batch_size, init, epsilon, max_tokens,
                 out_dir, seed, precision) -> int:
    options = {"steps": steps, "epochs": epochs, "lr": lr, "batch_size": batch_size, "init": init,
               "epsilon": epsilon, "max_tokens": max_tokens}  # --epsilon inf: non-private, over the recipe file
    task = task_options(template, label_words, task_file)
    run_audit(prompt, members=members, nonmembers=nonmembers, candidates=candidates, population=population,
              dataset=dataset, model=model, task=task, shadows=shadows, recipe_file=recipe_file,
              recipe_options=options, seed=seed, precision=precision, out_dir=out_dir, echo=click.echo,
              canaries=canaries)
    return 0
