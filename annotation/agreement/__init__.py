"""Inter-annotator agreement statistics as pure functions on arrays (no Django, no database).

The package works on a *reliability matrix* ``R`` per category: a float ``np.ndarray`` of shape
``(n_items, n_annotators)`` holding 0.0 / 1.0 (the annotator did not / did choose the category)
and ``np.nan`` where that annotator did not label that item. Multi-label projects are decomposed
into one binary matrix per category; the set-level Krippendorff's alpha works on the label sets
themselves. ``data`` builds these inputs from long-form rows.

Modules:

- ``metrics``: the public statistics, the ``Estimate`` / ``CategoryAgreement`` results and the
  bootstrapped ``category_agreement`` / ``set_agreement``;
- ``data``: ``reliability_matrix`` and friends (long-form rows to matrices or label sets);
- ``_binary`` / ``_sets`` / ``_bootstrap``: per-item sufficient statistics and the resampling
  engine (internal).

The choices behind every statistic (missing data, varying numbers of annotators, undefined
values) are written down in ``metrics`` and in docs/architecture.md, "Agreement statistics".
An import-linter contract keeps this package free of Django and of the rest of the app.
"""
