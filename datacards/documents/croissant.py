"""Croissant 1.0 JSON-LD with the Responsible AI (RAI) vocabulary.

The distribution names the data files with their SHA-256. Without files (the card's own
download) it names the canonical JSON Lines file `<slug>-v<N>.jsonl`, whose SHA-256 *is* the
version's content hash, so the document is complete before any export was made. Fields are
read as table columns (JSON Lines, Parquet and CSV alike).
"""

from __future__ import annotations

from .common import CardInput, DataFile, pct

CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# Flat fields every format carries as scalars (name, Croissant data type).
SCALARS = (
    ("id", "sc:Text"),
    ("text", "sc:Text"),
    ("url", "sc:Text"),
    ("title", "sc:Text"),
    ("none_of_these", "sc:Boolean"),
    ("gold_source", "sc:Text"),
    ("gold_decided_by", "sc:Text"),
    ("gold_decided_at", "sc:Date"),
    ("gold_rationale", "sc:Text"),
    ("gold_guideline_ref", "sc:Text"),
    ("gold_guidelines_version", "sc:Integer"),
    ("soft_none_of_these", "sc:Float"),
    ("selection_reason", "sc:Text"),
    ("selection_run_id", "sc:Integer"),
    ("inclusion_probability", "sc:Float"),
    ("weight", "sc:Float"),
)
CANONICAL = "application/jsonlines"


def _field(record_set: str, name: str, data_type: str, file_id: str) -> dict:
    # JSON Lines, Parquet and CSV are all read as tables: every field is a column.
    extract = {"column": name}
    return {
        "@type": "cr:Field",
        "@id": f"{record_set}/{name}",
        "name": name,
        "dataType": data_type,
        "source": {"fileObject": {"@id": file_id}, "extract": extract},
    }


def _distribution(ci: CardInput, files: list[DataFile]) -> list[DataFile]:
    if files:
        return files
    return [
        DataFile(
            path=f"{ci.base_name}.jsonl",
            split="test",
            rows=ci.card.get("counts", {}).get("items", 0),
            sha256=ci.content_hash,
            encoding=CANONICAL,
        )
    ]


def _fractions(runs: list[dict]) -> str:
    """Each model run's labeled fraction (run 3: 2 of 4 picks (50.0%); …), format-2 cards."""
    parts = []
    for r in runs:
        name = f"run {r['number']}" if r.get("number") is not None else f"run id {r['run_id']}"
        if r.get("picks") is None:
            parts.append(f"{name}: picks not on record (f = 1)")
        else:
            parts.append(
                f"{name}: {r['labeled']} of {r['picks']} picks ({pct(r['labeled_fraction'], 1)})"
            )
    return "; ".join(parts)


def _rai(ci: CardInput) -> dict:
    card, project = ci.card, ci.project
    counts, span = card.get("counts", {}), card.get("time_span", {})
    sampling = ", ".join(f"{s['label']} {pct(s['share'], 1)}" for s in card.get("sampling", []))
    noise = card.get("label_noise", {})
    agreement = card.get("pair_agreement", {}).get("categories", [])
    biases = [
        "Items picked by active learning over-represent uncertain and rare cases; unweighted "
        "prevalence is biased. Each row carries its inclusion probability and weight (1/π).",
        f"Sampling mix: {sampling or 'none recorded'}.",
    ]
    rule = card.get("weighting", {}).get("rule")
    if rule:  # format 2: weights 1/(π·f); older cards keep the text above unchanged
        biases[0] = (
            "Items picked by active learning over-represent uncertain and rare cases; "
            "unweighted prevalence is biased. Each row carries its inclusion probability π and "
            f"its weight 1/(π·f). {rule}"
        )
        fractions = _fractions(card.get("model_runs", []))
        biases.append(f"Labeled fraction f per model run: {fractions or 'no model run'}.")
    limitations = [ci.sections.get("known_limitations") or "Not written by the curators."]
    return {
        "rai:dataCollection": (
            f"{card.get('selection', {}).get('rule', '')} Sampling mix: {sampling}."
        ),
        "rai:dataCollectionType": ["Manual Human Curation"],
        "rai:dataCollectionTimeframe": [
            t for t in (span.get("first_annotation"), span.get("last_gold")) if t
        ],
        "rai:dataAnnotationProtocol": [
            f"Blind labeling by {project.get('overlap', '–')} annotators per item following "
            f"guidelines version {card.get('guidelines', {}).get('version', '–')}; "
            f"consolidation rule {project.get('consolidation_rule', '–')}; disagreements and "
            "unsure answers decided by a lead with a recorded rationale."
        ],
        "rai:dataAnnotationPlatform": ["goldset"],
        "rai:dataAnnotationAnalysis": [
            f"{a['name']}: percent agreement {pct(a['percent'], 1)}, positive agreement "
            f"{pct(a['positive'], 1)} over {a['pairs']} annotator pairs"
            for a in agreement
        ]
        or ["No item had two deciding annotations."],
        "rai:annotationsPerItem": str(project.get("overlap", "")),
        "rai:annotatorDemographics": [
            f"Unknown: not recorded. {counts.get('annotators', 0)} pseudonymised annotators."
        ],
        "rai:machineAnnotationTools": [
            "None label items. Active learning chose which items to label"
            + (
                "; flagged likely label errors were reviewed by a lead."
                if noise.get("reviewed")
                else "."
            )
        ],
        "rai:dataBiases": biases,
        "rai:dataUseCases": [
            ci.sections.get("intended_use") or "Evaluation of content-safety text classifiers."
        ],
        "rai:dataLimitations": limitations,
        "rai:personalSensitiveInformation": [
            "Items are web content as imported and may contain personal data and offensive "
            "material. Annotators are pseudonymised."
        ],
        "rai:dataReleaseMaintenancePlan": (
            "Versions are immutable; corrections appear as new versions with a diff."
        ),
    }


def croissant_jsonld(ci: CardInput, files: list[DataFile] | None = None) -> dict:
    """The Croissant document (a JSON-ready dict; dump it with sorted keys)."""
    files = _distribution(ci, files or [])
    distribution, record_sets = [], []
    for f in files:
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": f.path,
                "name": f.path,
                "contentUrl": f.path,
                "encodingFormat": f.encoding,
                "sha256": f.sha256,
            }
        )
        # One record set per file (split), so every split's rows are described.
        name = f.split if len(files) > 1 else "rows"
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": name,
                "name": name,
                "description": f"One row per item ({f.rows} rows): gold label, annotations, "
                "provenance and weight.",
                "field": [_field(name, n, t, f.path) for n, t in SCALARS],
            }
        )
    description = (
        ci.sections.get("summary")
        or ci.project.get("description")
        or f"Labeled evaluation dataset for content-safety text classification ({ci.title})."
    )
    doc = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [
            "http://mlcommons.org/croissant/1.0",
            "http://mlcommons.org/croissant/RAI/1.0",
        ],
        "name": ci.base_name,
        "description": description,
        "license": ci.license,
        "url": f"https://example.invalid/{ci.slug}/v{ci.number}",
        "version": f"{ci.number}.0.0",
        "datePublished": ci.published_at or ci.frozen_at,
        "citeAs": (
            f"@misc{{{ci.base_name}, title={{{ci.title}}}, version={{{ci.number}}}, "
            f"note={{SHA-256 {ci.content_hash}}}}}"
        ),
        "keywords": ["content safety", "text classification", "evaluation"],
        "inLanguage": ci.languages or None,
        "distribution": distribution,
        "recordSet": record_sets,
        **_rai(ci),
    }
    return {k: v for k, v in doc.items() if v is not None}
