"""What every report figure shares: the colour-blind-safe Okabe–Ito palette, and writing a figure as PNG (for
report.md) and as PDF (vector, for papers) through the atomic writer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

from post_bench.atomic import save_figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
# Yellow (#F0E442) is left out: it vanishes on a white background.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
GREY = "0.45"
DPI = 130


def style(i: int) -> dict:
    """Colour, line style and marker of the ``i``-th series: 7 colours, then the next line style and marker."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "ls": LINESTYLES[(i // len(OKABE_ITO)) % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def save(fig, path: Path | str, *, pdf: bool = False, **kwargs) -> list[Path]:
    """Write ``fig`` to ``path`` (format from its suffix) and, with ``pdf``, beside it as ``<stem>.pdf``.

    PDFs embed TrueType (Type 42) fonts, as journals ask, and carry no creation date, so that re-rendering
    the same results.json gives the same file."""
    path = Path(path)
    targets = [path] + ([path.with_suffix(".pdf")] if pdf and path.suffix.lower() != ".pdf" else [])
    out = []
    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.hashsalt": "post-bench"}):
        for target in targets:
            extra = dict(kwargs)
            if target.suffix.lower() == ".pdf":
                extra["metadata"] = {"CreationDate": None, "Producer": "post-bench"}
            else:
                extra.setdefault("dpi", DPI)
            out.append(save_figure(fig, target, **extra))
    return out
