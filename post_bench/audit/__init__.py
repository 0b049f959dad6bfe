"""``post-bench audit``: does a given soft prompt leak its training data, how much, with what confidence.

Modules, one responsibility each: ``inputs`` (prompt, model, task options, backbone), ``candidates``
(member / non-member files, population), ``recipe`` (the typed shadow recipe), ``statistics`` (one
membership statistic per attack), ``rows`` (metrics, operating points, ε bound, verdict), ``output`` (the
staged output folder), ``render`` (audit.json, report.md, ROC figure, summary) and ``pipeline`` (the run).
"""
