"""README.md: the data card as a Hugging Face dataset card.

YAML front matter (license, language, task_categories, task_ids, size_categories, pretty_name,
tags, configs/data_files and, for Parquet folders, dataset_info features and splits), then the
sections of the Hugging Face dataset card template: Dataset Details, Uses, Dataset Structure,
Dataset Creation (curation rationale, source data and sampling, annotations, personal and
sensitive information), Bias, Risks and Limitations, plus the recorded figures and the curation
notes. Text the leads wrote goes in as they wrote it (Markdown); every figure comes from the
frozen card.
"""

from __future__ import annotations

import json

from .common import CardInput, DataFile, num, pct, size_category

SPLIT_NOTE = (
    "Splits are stratified by each item's rarest gold class and keep near-duplicates "
    "(the same text after normalising case, digits, punctuation and spacing) in one split."
)


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax, ASCII-escaped, is valid YAML)."""
    return json.dumps(value, ensure_ascii=True)


def _features_yaml(category_names: list[str], split: bool) -> list[str]:
    plain = [
        ("id", "string"),
        ("text", "string"),
        ("url", "string"),
        ("title", "string"),
        ("metadata", "string"),
    ]
    lines = []
    for name, dtype in plain:
        lines += [f"  - name: {name}", f"    dtype: {dtype}"]
    lines += ["  - name: labels", "    list: string"]
    for name, dtype in (
        ("none_of_these", "bool"),
        ("gold_source", "string"),
        ("gold_decided_by", "string"),
        ("gold_decided_at", "timestamp[us, tz=UTC]"),
        ("gold_rationale", "string"),
        ("gold_guideline_ref", "string"),
        ("gold_guidelines_version", "int64"),
    ):
        lines += [f"  - name: {name}", f"    dtype: {dtype}"]
    lines += [
        "  - name: annotations",
        "    list:",
        "    - name: annotator",
        "      dtype: string",
        "    - name: labels",
        "      list: string",
        "    - name: none_of_these",
        "      dtype: bool",
        "    - name: unsure",
        "      dtype: bool",
        "  - name: soft_labels",
        "    struct:",
    ]
    for name in category_names:
        lines += [f"    - name: {_q(name)}", "      dtype: float64"]
    for name, dtype in (
        ("soft_none_of_these", "float64"),
        ("selection_reason", "string"),
        ("selection_run_id", "int64"),
        ("inclusion_probability", "float64"),
        ("weight", "float64"),
    ):
        lines += [f"  - name: {name}", f"    dtype: {dtype}"]
    if split:
        lines += ["  - name: split", "    dtype: string"]
    return lines


def front_matter(ci: CardInput, files: list[DataFile], *, features: bool) -> str:
    multi = ci.project.get("multi_label", True)
    items = ci.card.get("counts", {}).get("items", 0)
    lines = ["---", f"pretty_name: {_q(ci.title)}", f"license: {_q(ci.license)}"]
    if ci.languages:
        lines.append("language:")
        lines += [f"- {_q(code)}" for code in ci.languages]
    lines += [
        "task_categories:",
        "- text-classification",
        "task_ids:",
        f"- {'multi-label-classification' if multi else 'multi-class-classification'}",
        "size_categories:",
        f"- {size_category(items)}",
        "annotations_creators:",
        "- expert-generated",
        "source_datasets:",
        "- original",
        "tags:",
        "- content-safety",
        "- goldset",
    ]
    if files:
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for f in files:
            lines += [f"  - split: {f.split}", f"    path: {_q(f.path)}"]
    if features and files:
        lines += ["dataset_info:", "  features:"]
        lines += _features_yaml(ci.category_names, split=False)
    lines.append("---")
    return "\n".join(lines)


def _section(title: str, text: str, fallback: str) -> list[str]:
    return [title, "", text.strip() if text and text.strip() else f"_{fallback}_", ""]


def _table(headers: list[str], rows: list[list]) -> list[str]:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def _details(ci: CardInput) -> list[str]:
    card, counts = ci.card, ci.card.get("counts", {})
    span = card.get("time_span", {})
    version = card.get("version", {})
    lines = ["## Dataset Details", "", "### Dataset Description", ""]
    lines += [ci.sections.get("summary") or ci.project.get("description") or "", ""]
    lines += [
        f"- **Version:** {ci.number} ({ci.status}); parent version: "
        f"{version.get('parent') or 'none'}",
        f"- **Frozen:** {ci.frozen_at} by {version.get('created_by', '')}",
        f"- **Published:** {ci.published_at or 'not yet'}"
        + (f" by {ci.published_by}" if ci.published_by else ""),
        f"- **Content hash (SHA-256 of the canonical JSONL rows):** `{ci.content_hash}`",
        f"- **Language(s):** {', '.join(ci.languages) or 'not stated'}",
        f"- **License:** {ci.license}",
        f"- **Items:** {counts.get('items', 0)}; **annotations:** {counts.get('annotations', 0)}"
        f"; **annotators:** {counts.get('annotators', 0)} (pseudonymised)",
        f"- **Time span:** first annotation {span.get('first_annotation') or '–'}, "
        f"last gold decision {span.get('last_gold') or '–'}",
        "",
        "### Label schema",
        "",
    ]
    lines += _table(
        ["Category", "Definition", "Sensitive", "Active"],
        [
            [c["name"], c.get("description") or "–", "yes" if c.get("sensitive") else "no",
             "yes" if c.get("active", True) else "no"]
            for c in card.get("schema", [])
        ],
    )  # fmt: skip
    guidelines = card.get("guidelines", {})
    lines += [
        f"Labeling guidelines version {guidelines.get('version', '–')} "
        f"(SHA-256 `{guidelines.get('sha256', '')}`). "
        f"{'Multi-label' if ci.project.get('multi_label', True) else 'Single-label'}: "
        "'None of these' is an explicit decision.",
        "",
    ]
    return lines


def _weight_meaning(card: dict) -> str:
    if not card.get("weighting", {}).get("rule"):  # format 1: weights were 1/π
        return (
            "the item's inclusion probability and 1/π: use the weight for unbiased prevalence "
            "and recall estimates"
        )
    return (
        "the item's inclusion probability π as recorded when its batch was picked, and the "
        "weight 1/(π·f), f the labeled fraction of that batch (see Source Data and Sampling): "
        "use the weight for unbiased prevalence and recall estimates"
    )


def _batches(card: dict) -> list[str]:
    """The model runs' batches and their labeled fractions, with how weights are computed
    (format-2 cards; nothing for older ones)."""
    weighting = card.get("weighting", {})
    if not weighting.get("rule"):
        return []
    runs = card.get("model_runs", [])
    lines = ["#### Weights", "", weighting["rule"], ""]
    if runs:
        lines += _table(
            ["Model run", "Picks", "Labeled (in this version)", "Labeled fraction f"],
            [
                [r["number"] if r.get("number") is not None else f"id {r['run_id']}",
                 r["picks"] if r.get("picks") is not None else "not on record",
                 r["labeled"] if r.get("labeled") is not None else r["items"],
                 "1 (assumed)" if r.get("labeled_fraction") is None
                 else pct(r["labeled_fraction"], 1)]
                for r in runs
            ],
        )  # fmt: skip
    return lines


def _structure(ci: CardInput, files: list[DataFile]) -> list[str]:
    lines = ["## Dataset Structure", ""]
    lines += _table(
        ["Field", "Meaning"],
        [
            ["id", "the item's external id (rows are sorted by it, code point order)"],
            ["text / url / title", "the item content as imported"],
            ["metadata", "the item's imported metadata (JSON)"],
            ["labels", "gold category names, sorted"],
            ["none_of_these", "the gold decision was 'none of these categories'"],
            ["gold_source / gold_decided_by / gold_decided_at", "how the gold label was made "
             "(consensus, adjudication by a lead, known answer), by whom (pseudonym), when"],
            ["gold_rationale / gold_guideline_ref", "the lead's reason and guideline reference"],
            ["annotations", "every annotator's label: pseudonym, labels, none_of_these, unsure"],
            ["soft_labels / soft_none_of_these", "share of deciding annotators choosing each"],
            ["selection_reason / selection_run_id", "why the item was picked for labeling and "
             "by which model run"],
            ["inclusion_probability / weight", _weight_meaning(ci.card)],
        ],
    )  # fmt: skip
    if files:
        lines += _table(
            ["Split", "File", "Rows", "SHA-256"],
            [[f.split, f.path, f.rows, f"`{f.sha256}`"] for f in files],
        )
        if len(files) > 1:
            lines += [SPLIT_NOTE, ""]
    return lines


def _creation(ci: CardInput) -> list[str]:
    card = ci.card
    lines = ["## Dataset Creation", ""]
    lines += _section("### Curation Rationale", ci.sections.get("motivation", ""), "Not written.")
    lines += ["### Source Data and Sampling", "", card.get("selection", {}).get("rule", ""), ""]
    excluded = card.get("selection", {}).get("excluded", {})
    lines += [
        f"Left out at freeze: {excluded.get('pending', 0)} items still being annotated, "
        f"{excluded.get('adjudication', 0)} awaiting a lead, "
        f"{excluded.get('gold_questions', 0)} gold questions.",
        "",
    ]
    lines += _table(
        ["Selection reason", "Items", "Share"],
        [[s["label"], s["items"], pct(s["share"], 1)] for s in card.get("sampling", [])],
    )
    lines += _batches(card)
    project, adj = ci.project, card.get("adjudication", {})
    sources = card.get("counts", {}).get("gold_sources", {})
    lines += [
        "### Annotations",
        "",
        f"Each item was labeled blind by {project.get('overlap', '–')} annotators "
        f"(consolidation rule: {project.get('consolidation_rule', '–')}); disagreements and "
        "'unsure' answers went to a lead, whose decision and rationale are recorded. "
        f"Gold sources: {', '.join(f'{k} {v}' for k, v in sources.items()) or '–'}. "
        f"Adjudication cases in the project: {adj.get('total', 0)}.",
        "",
    ]
    if adj.get("cases"):
        lines += _table(
            ["Reason", "Status", "Cases"],
            [[c["reason"], c["status"], c["count"]] for c in adj["cases"]],
        )
    lines += [
        "**Who are the annotators?** Project members with the annotator or lead role, "
        f"{card.get('counts', {}).get('annotators', 0)} in this version, named by stable "
        "pseudonyms. Their demographics are not recorded.",
        "",
        "### Personal and Sensitive Information",
        "",
        "Items are web pages, URLs and posts as imported; they may contain personal data and "
        "offensive content. Sensitive categories: "
        + (", ".join(c["name"] for c in card.get("schema", []) if c.get("sensitive")) or "none")
        + ". Annotator identities are pseudonymised.",
        "",
    ]
    return lines


def _figures(ci: CardInput) -> list[str]:
    card = ci.card
    lines = ["## Label Figures", "", "### Prevalence (95% intervals)", ""]
    weighted = card.get("weighting", {}).get("applies", False)
    headers = ["Class", "Positives", "Prevalence", "Wilson 95% CI"]
    if weighted:
        headers += ["Weighted (Hájek)", "95% CI", "n_eff"]
    rows = []
    for p in card.get("prevalence", []):
        row = [p["name"], p["positives"], pct(p["prevalence"]["value"]),
               f"{pct(p['prevalence']['low'])} – {pct(p['prevalence']['high'])}"]  # fmt: skip
        if weighted and p.get("weighted"):
            w = p["weighted"]
            row += [pct(w["value"]), f"{pct(w['low'])} – {pct(w['high'])}", num(w["n_eff"], 1)]
        rows.append(row)
    lines += _table(headers, rows)
    if weighted:
        effective = "an inclusion probability"
        if card["weighting"].get("rule"):  # format 2: weights 1/(π·f)
            effective = "an effective inclusion probability π·f"
        lines += [
            f"{card['weighting']['weighted_items']} items carry {effective} below "
            f"1 (active learning). Weighted figures: {card['weighting']['estimator']}.",
            "",
        ]
    lines += ["### Agreement", "", "Pairwise agreement of the annotators on this version:", ""]
    lines += _table(
        ["Class", "Pairs", "Percent agreement", "Positive agreement"],
        [
            [a["name"], a["pairs"], pct(a["percent"], 1), pct(a["positive"], 1)]
            for a in card.get("pair_agreement", {}).get("categories", [])
        ],
    )
    agreement = card.get("agreement", {})
    if agreement.get("available"):
        lines += [f"Project agreement snapshot of {agreement.get('computed_at')}:", ""]
        lines += _table(
            ["Class", "Items", "Krippendorff's α", "95% CI", "Gwet's AC1"],
            [
                [a["name"], a.get("n_items") or 0, num((a.get("alpha") or {}).get("value")),
                 f"{num((a.get('alpha') or {}).get('low'))} – "
                 f"{num((a.get('alpha') or {}).get('high'))}",
                 num((a.get("ac1") or {}).get("value"))]
                for a in agreement.get("categories", [])
            ],
        )  # fmt: skip
    else:
        lines += ["No agreement snapshot had been computed when this version was frozen.", ""]
    noise = card.get("label_noise", {})
    lines += ["### Label-noise Review", ""]
    if noise.get("reviewed"):
        lines += [
            f"{noise['flagged']} items were flagged as likely label errors: "
            f"{noise['relabeled']} relabeled, {noise['dismissed']} kept, {noise['open']} open, "
            f"{noise['cancelled']} cancelled (source: {noise['source']}).",
            "",
        ]
    else:
        lines += ["Not reviewed: no item of this project was checked for label noise.", ""]
    return lines


def _limitations(ci: CardInput) -> list[str]:
    lines = _section(
        "## Bias, Risks, and Limitations",
        ci.sections.get("known_limitations", ""),
        "Not written.",
    )
    if ci.card.get("weighting", {}).get("applies"):
        lines += [
            "Items picked by active learning over-represent hard and rare cases: unweighted "
            "prevalence and recall are biased; use the `weight` column.",
            "",
        ]
    return lines


def readme_markdown(ci: CardInput, files: list[DataFile] | None = None, *, features=True) -> str:
    """The README.md text. `files`: the data files of the folder it goes with (empty: the card
    alone); `features`: describe the Parquet columns in dataset_info."""
    files = files or []
    lines = [front_matter(ci, files, features=features), "", f"# {ci.title}", ""]
    lines += _details(ci)
    lines += ["## Uses", ""]
    lines += _section("### Direct Use", ci.sections.get("intended_use", ""), "Not written.")
    lines += _section(
        "### Out-of-Scope Use", ci.sections.get("out_of_scope_use", ""), "Not written."
    )
    lines += _structure(ci, files)
    lines += _creation(ci)
    lines += _figures(ci)
    lines += _limitations(ci)
    lines += ["## Curation Notes", ""]
    if ci.notes:
        for note in ci.notes:
            text = note["text"].strip().replace("\n", "\n  ")
            lines.append(f"- {note['created_at']}, {note['author']}: {text}")
        lines.append("")
    else:
        lines += ["_None._", ""]
    return "\n".join(lines).rstrip() + "\n"
