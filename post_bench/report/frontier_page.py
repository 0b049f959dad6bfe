"""The source-frontier report: ``frontier.md``, ``frontier.png`` and ``frontier.json`` from the candidates
(:mod:`post_bench.report.frontier`)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from post_bench.report.frontier import (
    DIRECT_TRANSFER,
    SOURCE_PROMPT,
    SOURCE_ZERO_SHOT,
    ZERO_SHOT,
    Candidate,
    worst_validation_gain,
)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def _gain(g) -> str:
    return "—" if g is None else f"{100 * g.estimate:+.1f} [{100 * g.low:+.1f}, {100 * g.high:+.1f}]"


def _loss(c: Candidate) -> str:
    if c.student_loss is None:
        return "—"
    return f"{c.student_loss:.2f}" + ("" if c.teacher_loss is None else f" (teacher {c.teacher_loss:.2f})")


def _share(c: Candidate) -> str:
    return "—" if c.compute_share is None else f"{100 * c.compute_share:.1f}%"


def _chosen_line(candidates: list[Candidate], chosen: Candidate | None, rule: dict) -> str:
    if chosen is None:
        return "**Chosen: none** — no eligible candidate passes the rule."
    text = f"**Chosen:** {chosen.label} (layers {list(chosen.layers)}, {_share(chosen)} of the target's compute)"
    if not chosen.passes(rule["min_gain"], rule["max_compute_share"]):
        text += (f" — by the fallback: **no candidate passes the rule** (its worst validation gain is "
                 f"{100 * worst_validation_gain(chosen):+.1f} points)")
    return text


def markdown(candidates: list[Candidate], chosen: Candidate | None, rule: dict, command: str) -> str:
    lines = [
        "# Source frontier", "",
        f"Made by `{command}`. One run per candidate source (kept layers of the target, distilled the same way); "
        "each private set's source prompt (`source_only`, tuned and read on the source) against the target's "
        "zero-shot, on the validation split (what the rule reads) and the test split (reported only). Gains are "
        "per-example paired differences within seeds, with 95% CIs (`post_bench.report.paired`).", "",
        f"**Rule (written in the suite; it reads validation rows only):** the smallest candidate with at most "
        f"{100 * rule['max_compute_share']:.0f}% of the target's per-token compute whose source prompt beats the "
        f"target's zero-shot by ≥ {100 * rule['min_gain']:.0f} points on the validation split of every private set"
        + ("; when none does, the eligible candidate whose worst validation gain is largest (fallback)."
           if rule.get("fallback") == "best" else "."),
        "", _chosen_line(candidates, chosen, rule), "",
        "| source | layers | compute | distillation | held-out LM loss | set | target ZS | source ZS | source prompt "
        "| direct transfer | gain (validation) | gain (test) | rule |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in candidates:
        ok = ("passes" if c.passes(rule["min_gain"], rule["max_compute_share"])
              else "over the compute limit" if c.compute_share and c.compute_share > rule["max_compute_share"]
              else "fails")
        for i, s in enumerate(c.sets):
            head = (f"{c.label} | {list(c.layers)} | {_share(c)} | "
                    f"{'—' if c.distill_wall_s is None else f'{c.distill_wall_s / 60:.1f} min, {c.distill_steps} steps'}"
                    f" | {_loss(c)}") if i == 0 else " | | | |"
            acc = s.accuracy
            lines.append(f"| {head} | {s.dataset} | {_pct(acc.get((ZERO_SHOT, 'test')))} | "
                         f"{_pct(acc.get((SOURCE_ZERO_SHOT, 'test')))} | {_pct(acc.get((SOURCE_PROMPT, 'test')))} | "
                         f"{_pct(acc.get((DIRECT_TRANSFER, 'test')))} | {_gain(s.validation_gain)} | "
                         f"{_gain(s.test_gain)} | {ok if i == 0 else ''} |")
    lines += ["", "Accuracies in %, on the test split (mean over seeds); ZS = zero-shot; the distillation time is "
              "the one-off cost on the machine that made it (kept in the cache, not counted in a suite's time).",
              "", "![source prompt against compute](frontier.png)", ""]
    return "\n".join(lines)


def figure(candidates: list[Candidate], path: Path, max_share: float) -> None:
    import matplotlib.pyplot as plt  # deferred: start-up time (matplotlib)

    sets = sorted({s.dataset for c in candidates for s in c.sets})
    fig, axes = plt.subplots(1, len(sets), figsize=(4.5 * len(sets), 3.6), squeeze=False)
    for ax, name in zip(axes[0], sets):
        pts = [(c.compute_share, s) for c in candidates if c.compute_share for s in c.sets if s.dataset == name]
        pts.sort(key=lambda p: p[0])
        xs = [100 * p[0] for p in pts]
        zs = [p[1].accuracy.get((ZERO_SHOT, "test")) for p in pts]
        acc = [p[1].accuracy.get((SOURCE_PROMPT, "test")) for p in pts]
        err = [[0, 0] if p[1].test_gain is None else [p[1].test_gain.estimate - p[1].test_gain.low,
                                                      p[1].test_gain.high - p[1].test_gain.estimate] for p in pts]
        ax.errorbar(xs, [100 * a for a in acc], yerr=[[100 * e[0] for e in err], [100 * e[1] for e in err]],
                    marker="o", capsize=3, label="source prompt on the source (CI of its gain)")
        if zs and zs[0] is not None:
            ax.axhline(100 * zs[0], color="grey", ls="--", label="target zero-shot")
        ax.axvline(100 * max_share, color="red", ls=":", lw=1, label=f"{100 * max_share:.0f}% of the target")
        ax.set_title(name)
        ax.set_xlabel("source's share of the target's per-token compute (%)")
        ax.set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def to_json(candidates: list[Candidate], chosen: Candidate | None, rule: dict) -> dict:
    def cand(c: Candidate) -> dict:
        d = dataclasses.asdict(c)
        d["sets"] = [{**dataclasses.asdict(s), "accuracy": {f"{m}@{split}": v for (m, split), v in s.accuracy.items()}}
                     for s in c.sets]
        d["passes"] = c.passes(rule["min_gain"], rule["max_compute_share"])
        return d

    return {"rule": rule, "chosen": chosen.label if chosen else None, "candidates": [cand(c) for c in candidates]}


def write(candidates: list[Candidate], chosen: Candidate | None, rule: dict, folder: Path, command: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frontier.md").write_text(markdown(candidates, chosen, rule, command), encoding="utf-8")
    (folder / "frontier.json").write_text(json.dumps(to_json(candidates, chosen, rule), indent=1) + "\n")
    figure(candidates, folder / "frontier.png", rule["max_compute_share"])
    return [folder / n for n in ("frontier.md", "frontier.json", "frontier.png")]
