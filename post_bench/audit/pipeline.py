"""``post-bench audit``: one pipeline from inputs to the output folder, built from the suite runner's pieces
(backbone loading, the attack registry, ``attacks.shadows``, ``training.settings.tune_settings``, the
metrics of ``attacks.metrics``).

Two modes, labelled as such in every output:

- **the given prompt** (``--members/--nonmembers`` or ``--candidates``): the prompt itself is attacked on
  known members and non-members; reference-free attacks always, LiRA/RMIA with ``--shadows K`` prompts
  tuned by a recipe on balanced halves of (candidates ∪ population), so each candidate is IN for half;
- **a recipe's shadows** (``--dataset`` only): the leakage of a recipe (shadows tuned by post-bench) on a
  data set, each shadow attacked with the others as references; not the given prompt's leakage.
"""

from __future__ import annotations

import dataclasses
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.audit import candidates as cand
from post_bench.audit.inputs import (
    apply_task_options,
    check_prompt_fits,
    hidden_problem,
    load_backbone,
    model_from_adapter,
    prompt_name,
    read_prompt,
)
from post_bench.audit.output import prepare, staged
from post_bench.audit.recipe import load_recipe, resolve_recipe, settings_for
from post_bench.audit.render import summary_lines, write_outputs
from post_bench.audit.statistics import SHADOW_ATTACKS, ZeroShotCalibrated, candidate_statistics
from post_bench.errors import UserInputError, problem
from post_bench.samples import row_id, write_samples

SOURCE = "audit"
RECIPE_TRAIN_SIZE = 32  # a recipe audit's default examples per shadow (population 64)
TEST_SIZE = 100  # a recipe audit's utility test split
GIVEN, RECIPE = "the given prompt", "a recipe's shadows"


class _Clock:
    """Seconds since the start, and per stage (each stage: the time since the previous one)."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.stages: dict[str, float] = {}

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        self.stages[f"{name}_s"] = round(now - self.last, 3)
        self.last = now

    def total(self) -> dict:
        return {**self.stages, "total_s": round(time.perf_counter() - self.start, 3)}


def _check_shadows(k: int, minimum: int, why: str) -> None:
    if k and (k < minimum or k % 2):
        raise UserInputError(problem(SOURCE, "--shadows", f"{k}", f"0 or an even number >= {minimum} ({why})"))


def _dataset(dataset: str):
    from post_bench.data import check_dataset_spec, load_dataset  # deferred: start-up time (pandas)

    if msg := check_dataset_spec(dataset):
        raise UserInputError(problem(SOURCE, "--dataset", msg))
    ds = load_dataset(dataset)
    if ds.labels is None or ds.task is None:
        raise UserInputError(problem(SOURCE, "--dataset", f"{dataset!r} has no labels",
                                     "a labelled classification data set"))
    return ds


def _load(inp: Inputs, task, clock):
    """(backbone, label token ids) for the audited prompt's model; the prompt must fit its hidden size."""
    backbone = load_backbone(inp.model, inp.precision)
    if inp.prompt.shape[1] != backbone.hidden_size:
        raise UserInputError(hidden_problem(inp.source, inp.prompt, inp.model, backbone.hidden_size))
    label_ids = _label_ids(backbone, task)
    clock.stage("load_model")
    return backbone, label_ids


def _label_ids(backbone, task):
    try:
        return backbone.label_token_ids(task)
    except ValueError as err:
        raise UserInputError(problem(SOURCE, "label words", str(err))) from None


def _sides(scores: np.ndarray, labels: np.ndarray, member: np.ndarray) -> tuple[dict, dict]:
    """(accuracy, mean cross-entropy) of class scores [N, C] on members and on non-members."""
    from scipy.special import logsumexp  # deferred: start-up time (scipy)

    ce = logsumexp(scores, axis=1) - scores[np.arange(len(labels)), labels]
    right = scores.argmax(axis=1) == labels
    return ({"accuracy": float(right[member].mean()), "loss": float(ce[member].mean())},
            {"accuracy": float(right[~member].mean()), "loss": float(ce[~member].mean())})


def _task_dict(task, kind: str) -> dict:
    return {"name": task.name, "template": task.template(kind), "class_names": list(task.class_names),
            "label_words": [list(w) for w in task.label_words], "instruction": task.instruction}


def _prompt_dict(source: str, name: str, prompt, info: dict) -> dict:
    return {"path": str(source), "name": name, "shape": list(prompt.shape),
            "base_model": info.get("base_model_name_or_path"), "metadata": info.get("metadata", {})}


def _env() -> dict:
    return {"post_bench": version("post-bench")}


@dataclasses.dataclass
class Inputs:
    """Everything read and checked before the model is loaded."""

    source: str
    name: str
    prompt: object
    info: dict
    model: str
    recipe: object  # ShadowRecipe
    recipe_file: str | None
    out: Path
    shadows: int
    seed: int
    precision: str


def read_inputs(prompt_source, *, model, recipe_file, recipe_options: dict, out_dir, shadows: int, seed: int,
                precision: str) -> Inputs:
    prompt, info, path = read_prompt(prompt_source)  # refuses pickle files before opening them
    model = model or model_from_adapter(info, path)
    recipe, recipe_src = load_recipe(recipe_file, **recipe_options)
    check_prompt_fits(path, prompt, model, recipe.max_tokens)
    name = prompt_name(prompt_source)
    out = prepare(out_dir or f"audit-{name}")
    return Inputs(str(prompt_source), name, prompt, info, model, recipe, recipe_src, out, shadows, seed, precision)


def run_audit(prompt_source, *, members=None, nonmembers=None, candidates=None, population=None, dataset=None,
              model=None, task=None, shadows: int = 0, recipe_file=None, recipe_options: dict | None = None,
              seed: int = 0, precision: str = "auto", out_dir=None, echo=print, canaries: int = 0) -> dict:
    """Audit the prompt at ``prompt_source`` (PEFT folder, .safetensors, ``hf:<repo>[@rev]``). With candidate
    files: the given prompt; with ``dataset`` only: a recipe's leakage. ``task``: custom template / label
    words (``inputs.task_options``). Returns the result written to ``out_dir/audit.json``."""
    clock = _Clock()
    inputs = read_inputs(prompt_source, model=model, recipe_file=recipe_file, recipe_options=recipe_options or {},
                         out_dir=out_dir, shadows=shadows, seed=seed, precision=precision)
    if members is not None or nonmembers is not None or candidates is not None:
        result = _audit_prompt(inputs, members, nonmembers, candidates, population, dataset, task, echo, clock,
                               canaries)
    elif dataset is not None:
        if population is not None:
            raise UserInputError(problem(SOURCE, "--population", "given without candidates",
                                         "--population with --members/--nonmembers or --candidates"))
        result = _audit_recipe(inputs, dataset, task, echo, clock)
    else:
        raise UserInputError(problem(SOURCE, "candidates", "none given", "--members FILE --nonmembers FILE or "
                                     "--candidates FILE (the prompt's leakage), or --dataset D alone (a recipe's)"))
    for line in summary_lines(result):
        echo(line)
    echo(f"wrote {inputs.out}/ (audit.json, report.md, roc.png, roc.pdf)")
    return result


# ------------------------------------------------------------------------------------------ the given prompt
def _audit_prompt(inp: Inputs, members, nonmembers, candidates, population, dataset, task_opts, echo, clock,
                  canaries: int = 0) -> dict:
    from post_bench.data import generic_task  # deferred: start-up time (pandas)

    _check_shadows(inp.shadows, 2, "shadows come in complementary halves")
    if canaries and (not inp.shadows or canaries % 2 or canaries < 8):
        raise UserInputError(problem(SOURCE, "--canaries", f"{canaries}", "0, or an even number >= 8 with --shadows "
                                     "K > 0 (canaries are planted in the shadows' training sets)"))
    read = cand.read_candidate_files(members, nonmembers, candidates)
    pop_file = cand.read_labelled(population, "--population") if population is not None else None
    if dataset is not None:
        ds = _dataset(dataset)
        base_task = ds.task
    else:
        files = [f for f, _ in read] + ([pop_file] if pop_file else [])
        base_task = generic_task("candidates", cand.class_names_from(files))
    task = apply_task_options(base_task, task_opts, inp.info)
    cands = cand.build_candidates(read, task)
    pop = (cand.population_from_file(pop_file, task, cands) if pop_file is not None
           else cand.population_from_dataset(dataset, cands) if dataset is not None else None)
    resolved = resolve_recipe(inp.recipe, inp.recipe_file, prompt_length=int(inp.prompt.shape[0]),
                              default_train_size=cands.n_members,
                              default_from="the number of members given (taken as the prompt's training set size)")
    n_c, T, K = len(cands), resolved.train_size, inp.shadows
    universe = 2 * T
    need = universe - n_c
    settings = dp = None
    if K:
        if pop is None:
            raise UserInputError(problem(SOURCE, "--shadows", f"{K} shadows need a population to draw from",
                                         "--population FILE or --dataset D (rows that are not candidates), or --shadows 0"))
        if need < 0:
            raise UserInputError(problem(inp.recipe_file or SOURCE, "train_size", f"{T}: shadows train on halves of "
                                         f"2 x {T} = {universe} examples, fewer than the {n_c} candidates",
                                         f"train_size >= {(n_c + 1) // 2}"))
        if need > len(pop.texts):
            raise UserInputError(problem(SOURCE, "population", f"{len(pop.texts)} rows, but the shadows need {need} "
                                         f"besides the {n_c} candidates (2 x train_size {T} - {n_c})",
                                         "a larger population or a smaller train_size"))
        settings, dp = settings_for(resolved)
    delta = inp.recipe.delta or 1.0 / T
    member = cands.member_mask
    labels = np.asarray(cands.labels)

    from post_bench.audit.rows import (  # deferred: start-up time (scipy)
        CONFIDENCE,
        INDEPENDENCE,
        THRESHOLD_CHOICE,
        attack_row,
        verdict,
    )

    clock.stage("inputs")
    with staged(inp.out) as stage:
        backbone, label_ids = _load(inp, task, clock)
        echo(f"scoring {n_c} candidates ({cands.n_members} members, {cands.n_nonmembers} non-members) with the prompt "
             f"{tuple(inp.prompt.shape)} on {inp.model}")
        enc = backbone.encode_task(cands.texts, task, inp.recipe.max_tokens, labels)
        target, zero_shot, utility = _score(backbone, enc, label_ids, inp.prompt, member)
        clock.stage("score")
        shadow_scores = shadow_in = used = control = None
        if K:
            used = int(need)
            pick = np.sort(np.random.default_rng([inp.seed, 0xA0D]).permutation(len(pop.texts))[:need])
            texts = cands.texts + tuple(pop.texts[i] for i in pick)
            u_labels = np.r_[labels, np.asarray([pop.labels[i] for i in pick], dtype=np.int64)]
            echo(f"tuning {K} shadow prompts at once: {resolved.steps} steps, batch {settings.batch_size} of {T} "
                 f"examples each ({'non-private' if dp is None else f'DP-SGD eps={inp.recipe.epsilon:g}'})")
            planted = _canaries(canaries, texts, u_labels, task, inp.seed) if canaries else None
            if planted is not None:
                texts, u_labels = texts + planted[0], np.r_[u_labels, planted[1]]
            shadow_scores, keep, canary_scores = _shadows(
                backbone, backbone.encode_task(texts, task, inp.recipe.max_tokens, u_labels), enc, label_ids, task,
                inp, K, settings, n_canaries=canaries)
            shadow_in = keep[:, :n_c]  # the candidates are the universe's first n_c examples
            if planted is not None:
                control = _canary_control(canary_scores, keep[:, universe:], inp.seed)
                echo(control["line"])
            clock.stage("shadows")
        stats = candidate_statistics(target, zero_shot, shadow_scores, shadow_in)
        rows = [attack_row(name, s, member, delta=delta, n_attacks=len(stats), seed=inp.seed)
                for name, s in stats.items()]
        ids = [row_id(t) for t in cands.texts]
        for row, (name, s) in zip(rows, stats.items()):  # per-candidate outputs: the ROC can be recomputed
            row["samples"] = write_samples(stage, [
                {"candidate": i, "row_id": ids[i], "statistic": float(v), "member": bool(mb)}
                for i, (v, mb) in enumerate(zip(np.asarray(s, dtype=np.float64), member))], "candidates",
                f"samples-{name}.jsonl.gz")
        clock.stage("attacks")
        if pop is not None:
            pop = {**pop.description, "used": used}
        result = {
            "schema": 1, "attacked": GIVEN,
            "attacked_long": f"{GIVEN}: its own statistics on known members and non-members",
            "verdict": verdict(rows), "prompt": _prompt_dict(inp.source, inp.name, inp.prompt, inp.info),
            "model": inp.model, "device": str(backbone.device), "precision": inp.precision,
            "task": _task_dict(task, backbone.kind),
            "candidates": {"n": n_c, "n_members": cands.n_members, "n_nonmembers": cands.n_nonmembers,
                           "files": cands.files, "duplicates_removed": cands.duplicates_removed},
            "utility": utility, "population": pop,
            "shadows": {"k": K, "universe": universe if K else None, "population_rows_used": used,
                        "universe_note": f"the {n_c} candidates + {used} population rows; each candidate in "
                                         f"{K // 2} of {K} shadows" if K else None},
            "recipe": {"used": bool(K), "why_not": None if K else "--shadows 0: no shadow attacks",
                       "resolved": resolved.to_dict(), "dp": dp,
                       "settings": None if settings is None else dataclasses.asdict(settings)},
            "attacks": rows,
            "canary_control": control,
            "epsilon_lower_bound": {
                "confidence": CONFIDENCE, "threshold_choice": THRESHOLD_CHOICE, "delta": delta, "trials": n_c,
                "assumption": INDEPENDENCE,
                "description": (f"at {100 * CONFIDENCE:g}% confidence, δ = {delta:.3g} (recipe delta, else 1/train_size), "
                                f"from all {n_c} candidates' outcomes, every threshold and both directions with a "
                                f"Bonferroni correction ({THRESHOLD_CHOICE}); assumption: {INDEPENDENCE}")},
            "measured": _measured_prompt(cands, K, resolved),
            "not_measured": _not_measured_prompt(K, len(rows)),
            "roc_title": f"{inp.name} on {n_c} candidates", "seed": inp.seed, "env": _env(), "timing": None,
        }
        result["timing"] = clock.total()
        write_outputs(stage, result)
    return result


def _score(backbone, enc, label_ids, prompt, member: np.ndarray):
    """(target scores, zero-shot scores, utility): the logit-scaled confidence of the true label with the
    prompt and without any prompt, and accuracy / loss of both on members and non-members."""
    from post_bench.attacks.lira_math import logit_scaled_from_logits  # deferred: start-up time (scipy)

    with_prompt = backbone.score_dataset(enc, label_ids, prompt)
    zero = backbone.score_dataset(enc, label_ids)
    (m_p, n_p), (m_z, n_z) = _sides(with_prompt, enc.labels, member), _sides(zero, enc.labels, member)
    utility = {side: {**p, "zero_shot_accuracy": z["accuracy"], "zero_shot_loss": z["loss"]}
               for side, p, z in (("members", m_p, m_z), ("non-members", n_p, n_z))}
    return logit_scaled_from_logits(with_prompt, enc.labels), logit_scaled_from_logits(zero, enc.labels), utility


def _canaries(m: int, texts, labels, task, seed: int):
    """``m`` nonsense canaries (made-up words, random labels): the kind that audited best in reports/audit-power."""
    from post_bench.data.canaries import text_canaries  # deferred: start-up time (pandas)
    from post_bench.data.types import TextDataset  # deferred: start-up time (pandas)

    pool = TextDataset("universe", tuple(texts), tuple(int(v) for v in labels), task)
    cans, planted = text_canaries("nonsense", m, task.num_classes, seed=seed, pool=pool)
    return tuple(c.text for c in cans), np.asarray(planted, dtype=np.int64)


def _canary_control(scores: np.ndarray, included: np.ndarray, seed: int) -> dict:
    """Positive control of the shadow recipe: do shadows tuned by it memorise the canaries they saw? AUC of the
    planted label's confidence, included vs left-out canaries, pooled over the K shadows, with a bootstrap over
    canaries (each canary's K outcomes resampled together)."""
    from post_bench.attacks.metrics import (  # deferred: start-up time (scipy)
        attack_metrics,
        example_bootstrap_ci,
    )

    m = attack_metrics(scores.ravel(), included.ravel())
    ci = example_bootstrap_ci(scores, included, seed=seed, unit="canaries (a canary's outcomes in all shadows "
                              "resampled together)")
    lo, hi = ci["auc"]
    seen = lo > 0.5
    line = (f"canary control: shadows tuned by this recipe {'memorise' if seen else 'show no memorisation of'} the "
            f"{scores.shape[1]} nonsense canaries planted in half of them: AUC {m.auc:.3f} [{lo:.3f}, {hi:.3f}]"
            + ("" if seen else " — a recipe that does not memorise these may also hide a member's signal; "
               "read 'no leakage detected' with that in mind"))
    return {"kind": "nonsense", "m": int(scores.shape[1]), "shadows": int(scores.shape[0]), "auc": m.auc,
            "ci": ci, "detected": bool(seen), "line": line,
            "note": "each shadow trained on half of the canaries (balanced halves) on top of its train_size rows"}


def _shadows(backbone, universe_enc, candidates_enc, label_ids, task, inp: Inputs, k: int, settings,
             n_canaries: int = 0):
    """K shadow prompts tuned at once on balanced halves of the universe (``keep_masks``) — plus, with
    ``n_canaries``, balanced halves of the canaries appended after it; their scores on the candidates [K, N],
    the keep masks [K, universe + canaries] and their scores on the canaries [K, n_canaries] (or None)."""
    from post_bench.attacks.shadows import (  # deferred: start-up time (torch)
        keep_masks,
        logit_scaled,
        train_shadows,
    )
    from post_bench.models.soft_prompt import init_prompt  # deferred: start-up time (torch)

    n_universe = len(universe_enc) - n_canaries
    keep = keep_masks(k, n_universe, inp.seed)
    if n_canaries:
        keep = np.hstack([keep, keep_masks(k, n_canaries, inp.seed + 1)])
    init = init_prompt(backbone, int(inp.prompt.shape[0]), init=inp.recipe.init, text=task.instruction, seed=inp.seed)
    prompts = train_shadows(backbone, universe_enc, label_ids, init, keep, settings, inp.seed, desc="audit shadows")
    canary_scores = None
    if n_canaries:
        canary_scores = logit_scaled(backbone, universe_enc.subset(np.arange(n_universe, len(universe_enc))),
                                     label_ids, prompts)
    return logit_scaled(backbone, candidates_enc, label_ids, prompts), keep, canary_scores


def _measured_prompt(cands, k: int, resolved) -> list[str]:
    out = [f"membership signal of the given prompt on {len(cands)} known candidates ({cands.n_members} members, "
           f"{cands.n_nonmembers} non-members)",
           "loss: the prompt's logit-scaled confidence of the true label; loss-calibrated: the same minus the base "
           "model's zero-shot confidence (no training)"]
    if k:
        out.append(f"lira (online, offline, fixed_variance) and rmia (online, offline) against {k} shadow prompts "
                   f"tuned with the recipe below ({resolved.steps} steps on {resolved.train_size} examples each)")
    out.append("AUC with a bootstrap CI over candidates; TPR at 10%, 1%, 0.1% FPR with realized FPR, threshold and "
               "counts; an empirical ε lower bound")
    return out


def _not_measured_prompt(k: int, n_attacks: int) -> list[str]:
    out = []
    if not k:
        out.append("shadow-based attacks (LiRA, RMIA): --shadows 0; give --shadows K (even) and a population "
                   "(--population FILE or --dataset D) with a recipe matching how the prompt was tuned")
    out += ["members outside the candidate files: only the candidates' membership is tested",
            "a DP guarantee: the ε lower bound is empirical, from one training run, with the candidates treated "
            "as independent trials (approximate)",
            f"the table's CIs are per attack; the verdict uses intervals corrected for the {n_attacks} attacks tried",
            "extraction of training text (canary exposure, generations)"]
    return out


# ------------------------------------------------------------------------------------------ a recipe's leakage
def _audit_recipe(inp: Inputs, dataset, task_opts, echo, clock) -> dict:
    from post_bench.attacks.membership import leave_one_out  # deferred: start-up time (scipy)
    from post_bench.audit.rows import (  # deferred: start-up time (scipy)
        CONFIDENCE,
        INDEPENDENCE,
        THRESHOLD_CHOICE,
        attack_row,
        verdict,
    )
    from post_bench.data import make_splits  # deferred: start-up time (pandas)

    K = inp.shadows
    if K < 4 or K % 2:
        raise UserInputError(problem(SOURCE, "--shadows", f"{K}", "an even number >= 4 without candidates (a "
                                     "recipe's leakage: each shadow is attacked with the others, never its "
                                     "complement, as references)"))
    ds = _dataset(dataset)
    task = apply_task_options(ds.task, task_opts, inp.info)
    ds = dataclasses.replace(ds, task=task)
    resolved = resolve_recipe(inp.recipe, inp.recipe_file, prompt_length=int(inp.prompt.shape[0]),
                              default_train_size=RECIPE_TRAIN_SIZE, default_from="post-bench's default for a recipe audit")
    T = resolved.train_size
    try:
        splits = make_splits(ds, seed=inp.seed, train_size=2 * T, val_size=0, test_size=TEST_SIZE)
    except ValueError as err:
        raise UserInputError(problem(SOURCE, "--dataset", str(err), "a larger data set or a smaller train_size")) from None
    settings, dp = settings_for(resolved)
    delta = inp.recipe.delta or 1.0 / T
    clock.stage("inputs")
    with staged(inp.out) as stage:
        from post_bench.attacks.extraction import nearest_tokens  # deferred: start-up time (torch)
        from post_bench.attacks.lira_math import logit_scaled_from_logits  # deferred: start-up time (scipy)
        from post_bench.attacks.shadows import (  # deferred: start-up time (torch)
            keep_masks,
            logit_scaled,
            train_shadows,
        )
        from post_bench.models.backbone import accuracy  # deferred: start-up time (torch)
        from post_bench.models.soft_prompt import init_prompt  # deferred: start-up time (torch)

        backbone, label_ids = _load(inp, task, clock)
        test = backbone.encode_task(splits.test.texts, task, inp.recipe.max_tokens, splits.test.labels)
        pop = backbone.encode_task(splits.train.texts, task, inp.recipe.max_tokens, splits.train.labels)
        utility = {"test": {"accuracy": accuracy(backbone.score_dataset(test, label_ids, inp.prompt), test.labels),
                            "zero_shot_accuracy": accuracy(backbone.score_dataset(test, label_ids), test.labels),
                            "n_test": len(test)}}
        echo(f"the prompt {tuple(inp.prompt.shape)} on {inp.model}: accuracy {utility['test']['accuracy']:.3f} "
             f"(zero-shot {utility['test']['zero_shot_accuracy']:.3f}, n={len(test)})")
        keep = keep_masks(K, len(pop), inp.seed)
        init = init_prompt(backbone, int(inp.prompt.shape[0]), init=inp.recipe.init, text=task.instruction, seed=inp.seed)
        echo(f"tuning {K} shadow prompts at once: {resolved.steps} steps on {T} of {len(pop)} {dataset} rows each "
             "(the leakage of a recipe, not of the given prompt)")
        prompts = train_shadows(backbone, pop, label_ids, init, keep, settings, inp.seed, desc="audit shadows")
        scores = logit_scaled(backbone, pop, label_ids, prompts)
        zero_shot = logit_scaled_from_logits(backbone.score_dataset(pop, label_ids), pop.labels)
        clock.stage("shadows")
        load_attacks()
        attacks = [(ATTACKS.get("loss")(), "default"), (ZeroShotCalibrated(zero_shot), "default")]
        attacks += [(ATTACKS.get(n)(), v) for n, variants in SHADOW_ATTACKS for v in variants]
        rows = []
        for attack, variant in attacks:
            stats, member = leave_one_out(attack, scores, keep, variant)  # target by target: [K N] -> [K, N]
            stats, member = stats.reshape(scores.shape), member.reshape(scores.shape)
            one = leave_one_out(attack, scores, keep, variant, targets=[0])
            rows.append(attack_row(attack.row_name(variant), stats, member, delta=delta, n_attacks=len(attacks),
                                   seed=inp.seed, bound=one, bound_trials=f"the {len(pop)} outcomes of shadow 0"))
        clock.stage("attacks")
        v = verdict(rows, what=f"shadow outcomes ({K} shadows x {len(pop)} examples)")
        v["line"] = "Recipe leakage, not the given prompt's: " + v["line"][0].lower() + v["line"][1:]
        label = (f"{RECIPE}: the leakage of a recipe (shadows tuned by post-bench) on a data set ({dataset}), "
                 "not of the given prompt")
        result = {
            "schema": 1, "attacked": RECIPE, "attacked_long": label, "verdict": v,
            "prompt": _prompt_dict(inp.source, inp.name, inp.prompt, inp.info), "model": inp.model,
            "device": str(backbone.device), "precision": inp.precision, "task": _task_dict(task, backbone.kind),
            "dataset": dataset, "candidates": None, "utility": utility,
            "population": {"source": "dataset", "dataset": dataset, "rows": len(pop), "used": len(pop),
                           "note": f"{len(pop)} rows of {dataset} (its train split for seed {inp.seed})"},
            "shadows": {"k": K, "universe": len(pop), "population_rows_used": len(pop),
                        "universe_note": f"{len(pop)} rows of {dataset}; each row in {K // 2} of {K} shadows"},
            "recipe": {"used": True, "why_not": None, "resolved": resolved.to_dict(), "dp": dp,
                       "settings": dataclasses.asdict(settings)},
            "attacks": rows,
            "epsilon_lower_bound": {
                "confidence": CONFIDENCE, "threshold_choice": THRESHOLD_CHOICE, "delta": delta, "trials": len(pop),
                "assumption": INDEPENDENCE,
                "description": (f"at {100 * CONFIDENCE:g}% confidence, δ = {delta:.3g}, from the {len(pop)} outcomes "
                                f"of shadow 0 (one training run of the recipe), every threshold and both directions "
                                f"with a Bonferroni correction; assumption: {INDEPENDENCE}")},
            "nearest_tokens": nearest_tokens(backbone, inp.prompt),
            "measured": [label, f"each of {K} shadows attacked with the others (never its complement) as references; "
                         "metrics pooled over shadows", f"the given prompt's accuracy on {len(test)} test rows"],
            "not_measured": ["the given prompt's membership leakage: give --members/--nonmembers or --candidates",
                             "extraction of training text (canary exposure, generations)"],
            "roc_title": f"recipe shadows on {dataset}", "seed": inp.seed, "env": _env(), "timing": None,
        }
        result["timing"] = clock.total()
        write_outputs(stage, result)
    return result
