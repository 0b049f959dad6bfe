"""Checks a finished run must pass (exit 3 when one fails; the results and report are already written).

Always on: an empirical ε lower bound above the ε a prompt claims. A correct DP implementation cannot
produce one (at the bound's confidence), so it means a DP bug or a broken accounting, never bad luck to shrug at.
"""

from __future__ import annotations

from post_bench.methods.base import eps_label


def dp_violations(results: dict) -> list[str]:
    """One line per privacy row whose ``eps_lower_bound`` exceeds its ``claimed_epsilon`` (finite claims only)."""
    lines = []
    for row in results.get("privacy", []):
        claimed, bound = row.get("claimed_epsilon"), row.get("eps_lower_bound")
        if claimed is None or bound is None or not bound > claimed:
            continue
        conf = row.get("eps_lower_bound_confidence")
        lines.append(f"gate failed: {row.get('dataset')} {row.get('method')} {row.get('attack')} seed={row.get('seed')}: "
                     f"eps lower bound {bound:.2f} (confidence {conf}) > claimed eps {eps_label(claimed)}: the DP "
                     "training or its accounting is broken")
    return lines
