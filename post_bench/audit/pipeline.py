"""``post-bench audit``: one pipeline from inputs to the output folder, built from the suite runner's pieces
(backbone loading, the attack registry, ``attacks.shadows``, ``training.settings.tune_settings``, the
metrics of ``attacks.metrics``).

Two modes, labelled as such in every output:

- **the given prompt** (``--members/--nonmembers`` or ``--candidates``): the prompt itself is attacked on
  known members and non-members; reference-free attacks always, LiRA/RMIA with ``--shadows K`` prompts
  tuned by a recipe on balanced halves of (candidates ∪ population), so each candidate is IN for half;
- **a recipe's shadows** (``--dataset`` only): the leakage of a recipe (shadows tuned by post-bench) on a
  data set, each shadow attacked with the others as references; not the given prompt's leakage.

Each mode first checks every input (``_plan_prompt``, ``_plan_recipe``), then measures inside the staged
output folder with the model side (``audit.scoring``, imported only then: torch), then builds its rows
(:class:`post_bench.rows.PrivacyRow`, ``audit.rows``) and its result.
"""

from __future__ import annotations

import dataclasses
import time
from importlib.metadata import version

import numpy as np

from post_bench.attacks.base import Examples
from post_bench.attacks.membership import leave_one_out
from post_bench.attacks.metrics import attack_metrics, example_bootstrap_ci
from post_bench.audit import candidates as cand
from post_bench.audit.inputs import Inputs, apply_task_options, read_inputs
from post_bench.audit.output import staged
from post_bench.audit.recipe import ResolvedRecipe, resolve_recipe, settings_for
from post_bench.audit.render import summary_lines, write_outputs
from post_bench.audit.rows import (
    CONFIDENCE,
    GIVEN,
    INDEPENDENCE,
    RECIPE,
    THRESHOLD_CHOICE,
    attack_row,
    audited,
    verdict,
)
from post_bench.audit.statistics import audit_attacks, candidate_statistics, own_statistics
from post_bench.data import check_dataset_spec, generic_task, load_dataset, make_splits
from post_bench.data.canaries import text_canaries
from post_bench.data.types import TextDataset
from post_bench.epsilon import eps_label, parse_epsilon
from post_bench.errors import UserInputError, problem
from post_bench.rows import PrivacyRow
from post_bench.samples import row_id, write_samples

SOURCE = "audit"
RECIPE_TRAIN_SIZE = 32  # a recipe audit's default examples per shadow (population 64)
TEST_SIZE = 100  # a recipe audit's utility test split


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


def _scoring():
    """The model side of the audit (:mod:`post_bench.audit.scoring`), imported once the inputs are checked."""
    from post_bench.audit import scoring  # deferred: start-up time (torch)

    return scoring


def _check_shadows(k: int, minimum: int, why: str) -> None:
    if k and (k < minimum or k % 2):
        raise UserInputError(problem(SOURCE, "--shadows", f"{k}", f"0 or an even number >= {minimum} ({why})"))


def _dataset(dataset: str):
    if msg := check_dataset_spec(dataset):
        raise UserInputError(problem(SOURCE, "--dataset", msg))
    ds = load_dataset(dataset)
    if ds.labels is None or ds.task is None:
        raise UserInputError(problem(SOURCE, "--dataset", f"{dataset!r} has no labels",
                                     "a labelled classification data set"))
    return ds


def _task_dict(task, kind: str) -> dict:
    return {"name": task.name, "template": task.template(kind), "class_names": list(task.class_names),
            "label_words": [list(w) for w in task.label_words], "instruction": task.instruction}


def _prompt_dict(source: str, name: str, prompt, info: dict) -> dict:
    return {"path": str(source), "name": name, "shape": list(prompt.shape),
            "base_model": info.get("base_model_name_or_path"), "metadata": info.get("metadata", {})}


def _env() -> dict:
    return {"post_bench": version("post-bench")}


def _bound_section(delta: float, trials: int, source: str) -> dict:
    """audit.json's ``epsilon_lower_bound``: how every row's ε lower bound was made (``source``: its outcomes)."""
    return {"confidence": CONFIDENCE, "threshold_choice": THRESHOLD_CHOICE, "delta": delta, "trials": trials,
            "assumption": INDEPENDENCE,
            "description": (f"at {100 * CONFIDENCE:g}% confidence, δ = {delta:.3g}{source}, every threshold and "
                            f"both directions with a Bonferroni correction ({THRESHOLD_CHOICE}); assumption: "
                            f"{INDEPENDENCE}")}


def _common(inp: Inputs, task, backbone, v: dict) -> dict:
    """The first sections of the result, both modes alike."""
    return {"schema": 1, "verdict": v, "prompt": _prompt_dict(inp.source, inp.name, inp.prompt, inp.info),
            "model": inp.model, "device": str(backbone.device), "precision": inp.precision,
            "task": _task_dict(task, backbone.kind)}


def run_audit(prompt_source, *, members=None, nonmembers=None, candidates=None, population=None, dataset=None,
              model=None, task=None, shadows: int = 0, recipe_file=None, recipe_options: dict | None = None,
              seed: int = 0, precision: str = "auto", out_dir=None, echo=print, canaries: int = 0) -> dict:
    """Audit the prompt at ``prompt_source`` (PEFT folder, .safetensors, ``hf:<repo>[@rev]``). With candidate
    files: the given prompt; with ``dataset`` only: a recipe's leakage. ``task``: custom template / label
    words (``inputs.task_options``). Returns the result written to ``out_dir/audit.json`` (its ``attacks``
    typed :class:`~post_bench.rows.PrivacyRow` rows)."""
    clock = _Clock()
    inputs = read_inputs(prompt_source, model=model, recipe_file=recipe_file, recipe_options=recipe_options or {},
                         out_dir=out_dir, shadows=shadows, seed=seed, precision=precision)
    if members is not None or nonmembers is not None or candidates is not None:
        plan = _plan_prompt(inputs, members, nonmembers, candidates, population, dataset, task, canaries)
        clock.stage("inputs")
        result = _audit_prompt(inputs, plan, echo, clock)
    elif dataset is not None:
        if population is not None:
            raise UserInputError(problem(SOURCE, "--population", "given without candidates",
                                         "--population with --members/--nonmembers or --candidates"))
        plan = _plan_recipe(inputs, dataset, task)
        clock.stage("inputs")
        result = _audit_recipe(inputs, plan, echo, clock)
    else:
        raise UserInputError(problem(SOURCE, "candidates", "none given", "--members FILE --nonmembers FILE or "
                                     "--candidates FILE (the prompt's leakage), or --dataset D alone (a recipe's)"))
    for line in summary_lines(result):
        echo(line)
    echo(f"wrote {inputs.out}/ (audit.json, report.md, roc.png, roc.pdf)")
    return result


# ------------------------------------------------------------------------------------------ the given prompt
@dataclasses.dataclass(frozen=True)
class _PromptPlan:
    """A given-prompt audit's checked inputs."""

    task: object
    cands: cand.Candidates
    pop: cand.Population | None
    resolved: ResolvedRecipe
    settings: object | None  # TuneSettings of one shadow (None without shadows)
    dp: dict | None
    delta: float
    epsilon: float  # the recipe's (inf: non-private)
    canaries: int

    @property
    def universe(self) -> int:
        """Examples the shadows train on halves of: the candidates and ``need`` population rows."""
        return 2 * self.resolved.train_size

    @property
    def need(self) -> int:
        return self.universe - len(self.cands)


def _prompt_task(inp: Inputs, read, pop_file, dataset, task_opts):
    """``--dataset``'s task, else a generic one named ``candidates`` with the files' classes; the user's and the
    prompt's template / label words on top."""
    if dataset is not None:
        base = _dataset(dataset).task
    else:
        files = [f for f, _ in read] + ([pop_file] if pop_file else [])
        base = generic_task("candidates", cand.class_names_from(files))
    return apply_task_options(base, task_opts, inp.info)


def _check_universe(inp: Inputs, pop, n_c: int, train_size: int) -> None:
    """Shadows train on halves of 2 x train_size examples: the candidates and rows of a large enough population."""
    k, universe = inp.shadows, 2 * train_size
    if pop is None:
        raise UserInputError(problem(SOURCE, "--shadows", f"{k} shadows need a population to draw from",
                                     "--population FILE or --dataset D (rows that are not candidates), or --shadows 0"))
    if universe < n_c:
        raise UserInputError(problem(inp.recipe_file or SOURCE, "train_size", f"{train_size}: shadows train on halves "
                                     f"of 2 x {train_size} = {universe} examples, fewer than the {n_c} candidates",
                                     f"train_size >= {(n_c + 1) // 2}"))
    if universe - n_c > len(pop.texts):
        raise UserInputError(problem(SOURCE, "population", f"{len(pop.texts)} rows, but the shadows need "
                                     f"{universe - n_c} besides the {n_c} candidates (2 x train_size {train_size} - "
                                     f"{n_c})", "a larger population or a smaller train_size"))


def _plan_prompt(inp: Inputs, members, nonmembers, candidates, population, dataset, task_opts,
                 canaries: int) -> _PromptPlan:
    _check_shadows(inp.shadows, 2, "shadows come in complementary halves")
    if canaries and (not inp.shadows or canaries % 2 or canaries < 8):
        raise UserInputError(problem(SOURCE, "--canaries", f"{canaries}", "0, or an even number >= 8 with --shadows "
                                     "K > 0 (canaries are planted in the shadows' training sets)"))
    read = cand.read_candidate_files(members, nonmembers, candidates)
    pop_file = cand.read_labelled(population, "--population") if population is not None else None
    task = _prompt_task(inp, read, pop_file, dataset, task_opts)
    cands = cand.build_candidates(read, task)
    pop = (cand.population_from_file(pop_file, task, cands) if pop_file is not None
           else cand.population_from_dataset(dataset, cands) if dataset is not None else None)
    resolved = resolve_recipe(inp.recipe, inp.recipe_file, prompt_length=int(inp.prompt.shape[0]),
                              default_train_size=cands.n_members,
                              default_from="the number of members given (taken as the prompt's training set size)")
    settings = dp = None
    if inp.shadows:
        _check_universe(inp, pop, len(cands), resolved.train_size)
        settings, dp = settings_for(resolved)
    return _PromptPlan(task, cands, pop, resolved, settings, dp, inp.recipe.delta or 1.0 / resolved.train_size,
                       parse_epsilon(inp.recipe.epsilon), canaries)


def _canaries(m: int, texts, labels, task, seed: int):
    """``m`` nonsense canaries (made-up words, random labels): the kind that audited best in reports/audit-power."""
    pool = TextDataset("universe", tuple(texts), tuple(int(v) for v in labels), task)
    cans, planted = text_canaries("nonsense", m, task.num_classes, seed=seed, pool=pool)
    return tuple(c.text for c in cans), np.asarray(planted, dtype=np.int64)


def _canary_control(scores: np.ndarray, included: np.ndarray, seed: int) -> dict:
    """Positive control of the shadow recipe: do shadows tuned by it memorise the canaries they saw? AUC of the
    planted label's confidence, included vs left-out canaries, pooled over the K shadows, with a bootstrap over
    canaries (each canary's K outcomes resampled together)."""
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


@dataclasses.dataclass(frozen=True)
class _Shadows:
    scores: np.ndarray  # [K, N] on the candidates
    member: np.ndarray  # [K, N]: candidate i in shadow k's training half
    prompts: object  # [K, P, H]
    control: dict | None  # the canary control, with --canaries


def _prompt_shadows(sc, backbone, label_ids, inp: Inputs, plan: _PromptPlan, enc, echo) -> _Shadows:
    """K shadows tuned on balanced halves of the candidates and ``plan.need`` population rows (with
    ``--canaries``, nonsense canaries in balanced halves on top)."""
    cands, labels, k = plan.cands, np.asarray(plan.cands.labels), inp.shadows
    pick = np.sort(np.random.default_rng([inp.seed, 0xA0D]).permutation(len(plan.pop.texts))[:plan.need])
    texts = cands.texts + tuple(plan.pop.texts[i] for i in pick)
    u_labels = np.r_[labels, np.asarray([plan.pop.labels[i] for i in pick], dtype=np.int64)]
    how = "non-private" if plan.dp is None else f"DP-SGD eps={eps_label(plan.epsilon)}"
    echo(f"tuning {k} shadow prompts at once: {plan.resolved.steps} steps, batch {plan.settings.batch_size} of "
         f"{plan.resolved.train_size} examples each ({how})")
    planted = _canaries(plan.canaries, texts, u_labels, plan.task, inp.seed) if plan.canaries else None
    if planted is not None:
        texts, u_labels = texts + planted[0], np.r_[u_labels, planted[1]]
    scores, keep, canary_scores, prompts = sc.shadows(backbone, label_ids, inp, plan.task, texts, u_labels, enc,
                                                      plan.settings, n_canaries=plan.canaries)
    control = None
    if planted is not None:
        control = _canary_control(canary_scores, keep[:, plan.universe:], inp.seed)
        echo(control["line"])
    return _Shadows(scores, keep[:, :len(cands)], prompts, control)  # the candidates: the universe's first N


def _candidate_samples(stage, name: str, statistic, member: np.ndarray, ids: list[str]) -> dict:
    """Per-candidate outputs of one attack beside audit.json: its ROC can be recomputed from them."""
    return write_samples(stage, [{"candidate": i, "row_id": ids[i], "statistic": float(v), "member": bool(mb)}
                                 for i, (v, mb) in enumerate(zip(np.asarray(statistic, dtype=np.float64), member))],
                         "candidates", f"samples-{name}.jsonl.gz")


def _prompt_rows(stats: dict, plan: _PromptPlan, inp: Inputs, stage) -> list[PrivacyRow]:
    member, ids = plan.cands.member_mask, [row_id(t) for t in plan.cands.texts]
    base = audited(GIVEN, plan.task.name, plan.epsilon, inp.seed)
    return [attack_row(name, s, member, delta=plan.delta, n_attacks=len(stats), seed=inp.seed, base=base,
                       samples=_candidate_samples(stage, name, s, member, ids)) for name, s in stats.items()]


def _prompt_result(inp: Inputs, plan: _PromptPlan, backbone, rows, utility: dict, shadows: _Shadows | None) -> dict:
    cands, k, n_c = plan.cands, inp.shadows, len(plan.cands)
    used = plan.need if k else None
    return {
        **_common(inp, plan.task, backbone, verdict(rows)), "attacked": GIVEN,
        "attacked_long": f"{GIVEN}: its own statistics on known members and non-members",
        "candidates": {"n": n_c, "n_members": cands.n_members, "n_nonmembers": cands.n_nonmembers,
                       "files": cands.files, "duplicates_removed": cands.duplicates_removed},
        "utility": utility, "population": None if plan.pop is None else {**plan.pop.description, "used": used},
        "shadows": {"k": k, "universe": plan.universe if k else None, "population_rows_used": used,
                    "universe_note": f"the {n_c} candidates + {used} population rows; each candidate in "
                                     f"{k // 2} of {k} shadows" if k else None},
        "recipe": {"used": bool(k), "why_not": None if k else "--shadows 0: no shadow attacks",
                   "resolved": plan.resolved.to_dict(), "dp": plan.dp,
                   "settings": None if plan.settings is None else dataclasses.asdict(plan.settings)},
        "attacks": rows,  # typed rows: render dumps them
        "canary_control": None if shadows is None else shadows.control,
        "epsilon_lower_bound": _bound_section(plan.delta, n_c, f" (recipe delta, else 1/train_size), from all {n_c} "
                                                               "candidates' outcomes"),
        "measured": _measured_prompt(cands, k, plan.resolved),
        "not_measured": _not_measured_prompt(k, len(rows)),
        "roc_title": f"{inp.name} on {n_c} candidates", "seed": inp.seed, "env": _env(), "timing": None,
    }


def _audit_prompt(inp: Inputs, plan: _PromptPlan, echo, clock) -> dict:
    cands = plan.cands
    with staged(inp.out) as stage:
        sc = _scoring()
        backbone, label_ids = sc.load(inp, plan.task)
        clock.stage("load_model")
        echo(f"scoring {len(cands)} candidates ({cands.n_members} members, {cands.n_nonmembers} non-members) with the "
             f"prompt {tuple(inp.prompt.shape)} on {inp.model}")
        labels = np.asarray(cands.labels)
        scored = sc.score_candidates(backbone, label_ids, inp, cands.texts, labels, cands.member_mask, plan.task)
        clock.stage("score")
        shadows = None
        if inp.shadows:
            shadows = _prompt_shadows(sc, backbone, label_ids, inp, plan, scored.enc, echo)
            clock.stage("shadows")
        refs = (None, None, None) if shadows is None else (shadows.scores, shadows.member, shadows.prompts)
        stats = candidate_statistics(scored.target, scored.zero_shot, refs[0], refs[1])
        examples = Examples(backbone, cands.texts, labels, plan.task, inp.recipe.max_tokens, seed=inp.seed,
                            encoded=scored.enc)
        stats.update(own_statistics(examples, inp.prompt, refs[2], refs[1]))
        rows = _prompt_rows(stats, plan, inp, stage)
        clock.stage("attacks")
        result = _prompt_result(inp, plan, backbone, rows, scored.utility, shadows)
        result["timing"] = clock.total()
        write_outputs(stage, result)
    return result


def _with_references() -> str:
    """The attacks with references and their audit variants: "lira (online, offline) and rmia (online)"."""
    named: dict[str, list[str]] = {}
    for attack, variant in audit_attacks(shadows=True):
        if attack.needs_references:
            named.setdefault(attack.name, []).append(variant)
    parts = [f"{name} ({', '.join(variants)})" for name, variants in named.items()]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _measured_prompt(cands, k: int, resolved) -> list[str]:
    out = [f"membership signal of the given prompt on {len(cands)} known candidates ({cands.n_members} members, "
           f"{cands.n_nonmembers} non-members)"]
    out += [f"{attack.row_name(variant)}: {attack.description}" for attack, variant in audit_attacks(shadows=False)]
    if k:
        out.append(f"{_with_references()} against {k} shadow prompts "
                   f"tuned with the recipe below ({resolved.steps} steps on {resolved.train_size} examples each)")
    out.append("AUC with a bootstrap CI over candidates; TPR at 10%, 1%, 0.1% FPR with realized FPR, threshold and "
               "counts; an empirical ε lower bound")
    return out


def _not_measured_prompt(k: int, n_attacks: int) -> list[str]:
    out = []
    if not k:
        out.append(f"shadow-based attacks ({_with_references()}): --shadows 0; give --shadows K (even) and a "
                   "population (--population FILE or --dataset D) with a recipe matching how the prompt was tuned")
    out += ["members outside the candidate files: only the candidates' membership is tested",
            "a DP guarantee: the ε lower bound is empirical, from one training run, with the candidates treated "
            "as independent trials (approximate)",
            f"the table's CIs are per attack; the verdict uses intervals corrected for the {n_attacks} attacks tried",
            "extraction of training text (canary exposure, generations)"]
    return out


# ------------------------------------------------------------------------------------------ a recipe's leakage
@dataclasses.dataclass(frozen=True)
class _RecipePlan:
    """A recipe audit's checked inputs."""

    dataset: str
    task: object
    splits: object
    resolved: ResolvedRecipe
    settings: object
    dp: dict | None
    delta: float
    epsilon: float  # the recipe's (inf: non-private)


def _plan_recipe(inp: Inputs, dataset: str, task_opts) -> _RecipePlan:
    k = inp.shadows
    if k < 4 or k % 2:
        raise UserInputError(problem(SOURCE, "--shadows", f"{k}", "an even number >= 4 without candidates (a "
                                     "recipe's leakage: each shadow is attacked with the others, never its "
                                     "complement, as references)"))
    ds = _dataset(dataset)
    task = apply_task_options(ds.task, task_opts, inp.info)
    resolved = resolve_recipe(inp.recipe, inp.recipe_file, prompt_length=int(inp.prompt.shape[0]),
                              default_train_size=RECIPE_TRAIN_SIZE, default_from="post-bench's default for a recipe audit")
    t = resolved.train_size
    try:
        splits = make_splits(dataclasses.replace(ds, task=task), seed=inp.seed, train_size=2 * t, val_size=0,
                             test_size=TEST_SIZE)
    except ValueError as err:
        raise UserInputError(problem(SOURCE, "--dataset", str(err), "a larger data set or a smaller train_size")) from None
    settings, dp = settings_for(resolved)
    return _RecipePlan(dataset, task, splits, resolved, settings, dp, inp.recipe.delta or 1.0 / t,
                       parse_epsilon(inp.recipe.epsilon))


def _recipe_rows(m, backbone, inp: Inputs, plan: _RecipePlan) -> list[PrivacyRow]:
    """Each attack on the K shadows, each shadow the target in turn with the others as references; pooled rows,
    the ε lower bound on shadow 0's outcomes."""
    attacks = audit_attacks(m.zero_shot, shadows=True)
    examples = Examples(backbone, plan.splits.train.texts, plan.splits.train.labels, plan.task,
                        inp.recipe.max_tokens, seed=inp.seed, encoded=m.pop)
    base = audited(RECIPE, plan.dataset, plan.epsilon, inp.seed)
    n = m.scores.shape[1]
    own: dict[str, np.ndarray] = {}  # the signal of each attack that scores the shadows itself
    rows = []
    for attack, variant in attacks:
        if attack.own_scores and attack.name not in own:
            own[attack.name] = attack.scores(examples, m.prompts)
        signal = own[attack.name] if attack.own_scores else m.scores
        stats, member = leave_one_out(attack, signal, m.keep, variant)  # target by target: [K N] -> [K, N]
        stats, member = stats.reshape(m.scores.shape), member.reshape(m.scores.shape)
        one = leave_one_out(attack, signal, m.keep, variant, targets=[0])
        rows.append(attack_row(attack.row_name(variant), stats, member, delta=plan.delta, n_attacks=len(attacks),
                               seed=inp.seed, bound=one, bound_trials=f"the {n} outcomes of shadow 0", base=base))
    return rows


def _recipe_result(inp: Inputs, plan: _RecipePlan, backbone, rows, m, nearest: dict) -> dict:
    k, n, dataset = inp.shadows, m.scores.shape[1], plan.dataset
    v = verdict(rows, what=f"shadow outcomes ({k} shadows x {n} examples)")
    v["line"] = "Recipe leakage, not the given prompt's: " + v["line"][0].lower() + v["line"][1:]
    label = (f"{RECIPE}: the leakage of a recipe (shadows tuned by post-bench) on a data set ({dataset}), "
             "not of the given prompt")
    return {
        **_common(inp, plan.task, backbone, v), "attacked": RECIPE, "attacked_long": label,
        "dataset": dataset, "candidates": None, "utility": m.utility,
        "population": {"source": "dataset", "dataset": dataset, "rows": n, "used": n,
                       "note": f"{n} rows of {dataset} (its train split for seed {inp.seed})"},
        "shadows": {"k": k, "universe": n, "population_rows_used": n,
                    "universe_note": f"{n} rows of {dataset}; each row in {k // 2} of {k} shadows"},
        "recipe": {"used": True, "why_not": None, "resolved": plan.resolved.to_dict(), "dp": plan.dp,
                   "settings": dataclasses.asdict(plan.settings)},
        "attacks": rows,
        "canary_control": None,
        "epsilon_lower_bound": _bound_section(plan.delta, n, f", from the {n} outcomes of shadow 0 (one training run "
                                                             "of the recipe)"),
        "nearest_tokens": nearest,
        "measured": [label, f"each of {k} shadows attacked with the others (never its complement) as references; "
                     "metrics pooled over shadows",
                     f"the given prompt's accuracy on {m.utility['test']['n_test']} test rows"],
        "not_measured": ["the given prompt's membership leakage: give --members/--nonmembers or --candidates",
                         "extraction of training text (canary exposure, generations)"],
        "roc_title": f"recipe shadows on {dataset}", "seed": inp.seed, "env": _env(), "timing": None,
    }


def _audit_recipe(inp: Inputs, plan: _RecipePlan, echo, clock) -> dict:
    with staged(inp.out) as stage:
        sc = _scoring()
        backbone, label_ids = sc.load(inp, plan.task)
        clock.stage("load_model")
        m = sc.recipe_shadows(backbone, label_ids, inp, plan.task, plan.splits, plan.settings, plan.resolved,
                              plan.dataset, echo)
        clock.stage("shadows")
        rows = _recipe_rows(m, backbone, inp, plan)
        clock.stage("attacks")
        result = _recipe_result(inp, plan, backbone, rows, m, sc.nearest_tokens(backbone, inp.prompt))
        result["timing"] = clock.total()
        write_outputs(stage, result)
    return result
