"""The data card: figures recorded at freeze match the data; README.md and Croissant."""

import json

import pytest
import yaml

from annotation.models import AgreementSnapshot, GoldLabel, Item
from datacards.documents import card_input, croissant_jsonld, readme_markdown
from datacards.services.versions import curation_note_add, version_sections_update
from datacards.stats import wilson
from tests.datacards.conftest import when
from tests.factories import frozen_version, open_case

SNAPSHOT = {
    "version": 1,
    "counts": {"annotations": 11},
    "params": {"level": 0.95},
    "categories": [
        {"key": "c1", "name": "Hate", "kind": "category", "n_items": 5,
         "metrics": {"alpha": {"value": 0.8, "low": 0.5, "high": 0.95, "reason": ""},
                     "ac1": {"value": 0.85, "low": 0.6, "high": 0.97, "reason": ""}}},
    ],
}  # fmt: skip


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_prevalence_matches_the_gold_labels(dataset, scientist):
    version = frozen_version(dataset.project, scientist)
    eligible = Item.objects.filter(
        project=dataset.project, label_state="gold", is_gold_question=False
    )
    gold = GoldLabel.objects.filter(item__in=eligible, current=True)
    n = eligible.count()

    prevalence = by_name(version.card["prevalence"])

    for name, category in dataset.cats.items():
        k = gold.filter(categories=category).count()
        assert prevalence[name]["positives"] == k
        expected = wilson(k, n)
        assert prevalence[name]["prevalence"] == {
            "value": round(expected.value, 6),
            "low": round(expected.low, 6),
            "high": round(expected.high, 6),
        }
    assert prevalence["None of these"]["positives"] == gold.filter(none_of_these=True).count()
    assert version.card["counts"]["items"] == n == 5


def test_weighted_prevalence_uses_inclusion_probabilities(dataset, scientist):
    card = frozen_version(dataset.project, scientist).card

    prevalence = by_name(card["prevalence"])

    # weights: d has π = 0.25 (w = 4), the other four w = 1; Σw = 8.
    assert card["weighting"]["applies"] and card["weighting"]["weighted_items"] == 1
    assert prevalence["Adult Content"]["weighted"]["value"] == 0.5  # 4 / 8
    assert prevalence["Hate"]["weighted"]["value"] == 0.25  # 2 / 8
    w = prevalence["Hate"]["weighted"]
    assert w["low"] < 0.25 < w["high"]


def test_no_weighting_without_inclusion_probabilities(dataset, scientist):
    Item.objects.filter(project=dataset.project).update(inclusion_probability=None)

    card = frozen_version(dataset.project, scientist).card

    assert card["weighting"]["applies"] is False
    assert all(p["weighted"] is None for p in card["prevalence"])


def test_counts_sampling_time_span_and_pair_agreement(dataset, scientist):
    card = frozen_version(dataset.project, scientist).card

    assert card["counts"]["annotators"] == 3
    assert card["counts"]["annotations"] == 11 and card["counts"]["unsure_annotations"] == 1
    assert card["counts"]["gold_sources"] == {"adjudication": 1, "consensus": 4}
    assert card["counts"]["labels_per_item"] == {"0": 1, "1": 3, "2": 1, "3+": 0}
    assert {s["reason"]: s["items"] for s in card["sampling"]} == {"random": 4, "uncertainty": 1}
    # run 7 left no picks on record (no such run): f unknown, d keeps 1/π
    assert card["model_runs"] == [
        {"run_id": 7, "number": None, "items": 1, "picks": None, "labeled": None,
         "labeled_fraction": None},
    ]  # fmt: skip
    assert card["time_span"]["first_annotation"] == "2026-03-01T12:00:00.123456Z"
    assert card["time_span"]["last_gold"] == "2026-03-14T12:00:00.123456Z"
    assert card["selection"]["excluded"] == {"pending": 1, "adjudication": 0, "gold_questions": 1}
    hate = by_name(card["pair_agreement"]["categories"])["Hate"]
    # a: both chose Hate; b: one did; c, d: neither; e: both deciding annotators did.
    assert (hate["both_yes"], hate["split"], hate["both_no"]) == (2, 1, 2)
    assert hate["positive"] == pytest.approx(0.8)


def test_agreement_snapshot_is_copied_and_never_changes_later(dataset, scientist):
    snapshot = AgreementSnapshot.objects.create(
        project=dataset.project, status="done", data=SNAPSHOT, finished_at=when(15)
    )
    version = frozen_version(dataset.project, scientist)
    snapshot.data = {"categories": []}
    snapshot.save()

    version.refresh_from_db()
    agreement = version.card["agreement"]

    assert agreement["available"] and agreement["snapshot_id"] == snapshot.pk
    assert agreement["categories"][0]["alpha"] == {"value": 0.8, "low": 0.5, "high": 0.95}
    assert agreement["categories"][0]["ac1"]["value"] == 0.85


def test_agreement_absent_or_malformed_is_reported_as_not_computed(dataset, scientist):
    AgreementSnapshot.objects.create(project=dataset.project, status="done", data={"x": 1})

    card = frozen_version(dataset.project, scientist).card

    assert card["agreement"] == {"available": False}


def test_adjudication_and_label_noise_figures(dataset, scientist):
    assert frozen_version(dataset.project, scientist).card["label_noise"]["reviewed"] is False
    open_case(dataset.items["p"], "disagreement")
    flagged = open_case(dataset.items["q"], "label_error")
    flagged.status = "dismissed"
    flagged.save()

    card = frozen_version(dataset.project, scientist).card

    assert {(c["reason"], c["status"]): c["count"] for c in card["adjudication"]["cases"]} == {
        ("disagreement", "open"): 1,
        ("label_error", "dismissed"): 1,
    }
    assert card["adjudication"]["items_decided_by_lead"] == 1
    assert card["label_noise"] == {
        "reviewed": True, "source": "adjudication cases (label_error)", "flagged": 1,
        "open": 0, "relabeled": 0, "dismissed": 1, "cancelled": 0,
    }  # fmt: skip


def test_readme_has_hugging_face_front_matter_and_the_recorded_figures(dataset, scientist):
    version = frozen_version(dataset.project, scientist)
    version_sections_update(
        version=version,
        sections={"license": "cc-by-4.0", "languages": "en, de", "intended_use": "Eval only."},
    )
    version.refresh_from_db()

    text = readme_markdown(card_input(version=version))

    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en", "de"]
    assert meta["task_categories"] == ["text-classification"]
    assert meta["task_ids"] == ["multi-label-classification"]
    assert meta["size_categories"] == ["n<1K"]
    assert version.content_hash in body
    assert "| Hate | 2 | 40.00% |" in body
    assert "Eval only." in body and "Not reviewed" in body
    assert readme_markdown(card_input(version=version)) == text  # no clock inside


def test_exported_notes_stop_at_publication(dataset, scientist):
    from datacards.services.versions import version_publish

    version = frozen_version(dataset.project, scientist)
    curation_note_add(version=version, author=scientist, text="Dropped near-duplicates.")
    version = version_publish(version=version, user=scientist)
    curation_note_add(version=version, author=scientist, text="Later remark.")

    text = readme_markdown(card_input(version=version))

    assert "Dropped near-duplicates." in text and "Later remark." not in text


def test_croissant_is_valid_and_describes_the_canonical_file(dataset, scientist, tmp_path):
    import mlcroissant as mlc

    version = frozen_version(dataset.project, scientist)
    doc = croissant_jsonld(card_input(version=version))

    assert doc["distribution"][0]["sha256"] == version.content_hash
    for key in (
        "rai:dataCollection",
        "rai:dataAnnotationProtocol",
        "rai:annotatorDemographics",
        "rai:dataBiases",
        "rai:personalSensitiveInformation",
        "rai:dataLimitations",
    ):
        assert doc[key], key  # fmt: skip
    assert "Unknown" in doc["rai:annotatorDemographics"][0]
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(doc))
    dataset_doc = mlc.Dataset(jsonld=str(path))  # raises on validation errors
    assert dataset_doc.metadata.name == f"{dataset.project.slug}-v1"
