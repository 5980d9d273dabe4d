"""Freezing a version: what is copied, the content hash, pseudonyms, parents and bad input."""

import hashlib
import json

import pytest
from django.core.cache import cache

from annotation.errors import Conflict, InvalidInput
from annotation.models import Role
from datacards.canonical import ROW_COLUMNS, canonical_line
from datacards.models import AnnotatorPseudonym, DatasetVersion, VersionItem
from datacards.services import freeze as freeze_module
from datacards.services.freeze import progress_key, version_freeze_run
from datacards.services.versions import version_freeze_start, version_publish
from tests.datacards.conftest import when
from tests.factories import ProjectFactory, frozen_version, labeled_item, member


def rows(version):
    return {r.external_id: r for r in VersionItem.objects.filter(version=version)}


def test_freeze_copies_gold_labels_annotations_and_provenance(dataset, scientist):
    version = frozen_version(dataset.project, scientist)

    assert version.status == DatasetVersion.Status.DRAFT
    assert version.item_count == 5 and version.annotation_count == 11
    frozen = rows(version)
    assert sorted(frozen) == ["a", "b", "c", "d", "e"]  # not p (pending), not q (gold question)
    b = frozen["b"]
    assert json.loads(b.labels_json) == ["Violence"]
    assert b.gold_source == "adjudication" and b.gold_rationale == "Threat, not hate."
    codes = dict(
        AnnotatorPseudonym.objects.filter(project=dataset.project).values_list("user", "code")
    )
    assert b.gold_decided_by == codes[dataset.lead.pk]
    u1, u2, u3 = dataset.annotators
    assert json.loads(b.annotations_json) == [
        {"annotator": codes[u1.pk], "labels": ["Hate", "Violence"], "none_of_these": False,
         "unsure": False},
        {"annotator": codes[u2.pk], "labels": ["Violence"], "none_of_these": False,
         "unsure": False},
    ]  # fmt: skip
    assert json.loads(b.soft_labels_json)["Hate"] == 0.5
    assert json.loads(b.metadata_json) == {
        "lang": "de",
        "score": 1.5,
        "nested": {"z": 1, "a": [1, 2]},
    }
    d = frozen["d"]
    assert (d.selection_reason, d.selection_run_id, d.inclusion_probability, d.weight) == (
        "uncertainty", 7, 0.25, 4.0,
    )  # fmt: skip
    c = frozen["c"]
    assert c.none_of_these and json.loads(c.labels_json) == []
    assert c.soft_none_of_these == 1.0
    e = json.loads(frozen["e"].annotations_json)
    assert [a["unsure"] for a in e] == [False, False, True]  # the unsure one does not decide
    assert json.loads(frozen["e"].soft_labels_json)["Hate"] == 1.0
    card = version.card
    assert [c["name"] for c in card["schema"]] == list(dataset.cats)
    assert card["guidelines"]["version"] == dataset.project.guidelines_version
    assert card["guidelines"]["text"] == dataset.project.guidelines


def _expected_line(
    item, gold, none, source, decided_by, decided_at, rationale, annotations, soft, soft_none,
    weight=1.0, probability=None, reason="random", run_id=None,
):  # fmt: skip
    record = {
        "annotations": annotations, "gold_decided_at": decided_at, "gold_decided_by": decided_by,
        "gold_guideline_ref": "", "gold_guidelines_version": 1, "gold_rationale": rationale,
        "gold_source": source, "id": item.external_id, "inclusion_probability": probability,
        "labels": gold, "metadata": item.metadata, "none_of_these": none,
        "selection_reason": reason, "selection_run_id": run_id, "soft_labels": soft,
        "soft_none_of_these": soft_none, "text": item.text, "title": item.title, "url": item.url,
        "weight": weight,
    }  # fmt: skip
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def test_content_hash_is_sha256_of_the_canonical_rows_built_independently(dataset, scientist):
    """The expected lines are written here from the inputs, without the freeze's code: the
    same content gives this hash on SQLite and PostgreSQL alike."""
    version = frozen_version(dataset.project, scientist)
    code = dict(
        AnnotatorPseudonym.objects.filter(project=dataset.project).values_list("user", "code")
    )
    u1, u2, u3 = (code[u.pk] for u in dataset.annotators)
    names = sorted(dataset.cats)

    def soft(**shares):
        return {n: float(shares.get(n.replace(" ", "_").replace("-", "_"), 0.0)) for n in names}

    def ann(who, labels=(), none=False, unsure=False):
        return {"annotator": who, "labels": list(labels), "none_of_these": none, "unsure": unsure}

    it = dataset.items
    t = {k: f"2026-03-{d}T12:00:00.123456Z" for k, d in zip("abcde", range(10, 15), strict=True)}
    lines = [
        _expected_line(it["a"], ["Hate"], False, "consensus", None, t["a"], "",
                       [ann(u1, ["Hate"]), ann(u2, ["Hate"])], soft(Hate=1.0), 0.0),
        _expected_line(it["b"], ["Violence"], False, "adjudication", code[dataset.lead.pk],
                       t["b"], "Threat, not hate.",
                       [ann(u1, ["Hate", "Violence"]), ann(u2, ["Violence"])],
                       soft(Hate=0.5, Violence=1.0), 0.0),
        _expected_line(it["c"], [], True, "consensus", None, t["c"], "",
                       [ann(u1, none=True), ann(u2, none=True)], soft(), 1.0),
        _expected_line(it["d"], ["Adult Content", "Social Media"], False, "consensus", None,
                       t["d"], "", [ann(u1, ["Adult Content", "Social Media"]),
                                    ann(u2, ["Adult Content"])],
                       soft(Adult_Content=1.0, Social_Media=0.5), 0.0, weight=4.0,
                       probability=0.25, reason="uncertainty", run_id=7),
        _expected_line(it["e"], ["Hate"], False, "consensus", None, t["e"], "",
                       [ann(u1, ["Hate"]), ann(u2, ["Hate"]), ann(u3, unsure=True)],
                       soft(Hate=1.0), 0.0),
    ]  # fmt: skip
    expected = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()

    assert version.content_hash == expected
    stored = VersionItem.objects.filter(version=version).order_by("external_id")
    assert [canonical_line(r) for r in stored.values_list(*ROW_COLUMNS)] == lines


def test_same_content_gives_the_same_hash_and_pseudonyms_stay(dataset, scientist):
    first = frozen_version(dataset.project, scientist, publish=True)
    newcomer = member(dataset.project, Role.ANNOTATOR)
    labeled_item(dataset.project, [(newcomer, [dataset.cats["Hate"]])], [dataset.cats["Hate"]],
                 external_id="f", gold_when=when(20))  # fmt: skip

    second = frozen_version(dataset.project, scientist)

    assert second.parent_id == first.pk and second.number == 2
    assert second.content_hash != first.content_hash
    codes = dict(
        AnnotatorPseudonym.objects.filter(project=dataset.project).values_list("user", "code")
    )
    assert codes[newcomer.pk] == "A005"  # the next free code; the others kept theirs
    before = {r.external_id: r.annotations_json for r in VersionItem.objects.filter(version=first)}
    after = {r.external_id: r.annotations_json for r in VersionItem.objects.filter(version=second)}
    assert all(after[k] == v for k, v in before.items())
    # The same rows again: the same hash.
    VersionItem_f = json.loads(after["f"])
    assert VersionItem_f[0]["annotator"] == "A005"
    third = frozen_version(dataset.project, scientist)
    assert third.content_hash == second.content_hash
    assert third.parent_id == first.pk  # drafts are never parents


def test_freezing_an_empty_project_is_refused_and_creates_nothing(project, scientist):
    with pytest.raises(InvalidInput, match="Nothing to freeze"):
        version_freeze_start(project=project, user=scientist)

    assert not DatasetVersion.objects.filter(project=project).exists()


def test_a_second_freeze_while_one_runs_is_refused(dataset, scientist):
    version_freeze_start(project=dataset.project, user=scientist)

    with pytest.raises(Conflict, match="being frozen"):
        version_freeze_start(project=dataset.project, user=scientist)

    assert DatasetVersion.objects.filter(project=dataset.project).count() == 1


def test_freeze_task_runs_on_commit_and_progress_is_cleared(
    dataset, scientist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_freeze_start(project=dataset.project, user=scientist)

    version.refresh_from_db()
    assert version.status == "draft" and version.item_count == 5
    assert cache.get(progress_key(version.pk)) is None


def test_a_failed_freeze_keeps_no_rows_and_says_why(dataset, scientist, monkeypatch):
    version = version_freeze_start(project=dataset.project, user=scientist)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(freeze_module, "card_build", broken)
    result = version_freeze_run(version_id=version.pk)

    assert result.status == "failed" and "disk full" in result.error
    assert not VersionItem.objects.filter(version=version).exists()
    assert not AnnotatorPseudonym.objects.filter(project=dataset.project).exists()


def test_items_that_lost_their_gold_meanwhile_fail_the_freeze_clearly(dataset, scientist):
    version = version_freeze_start(project=dataset.project, user=scientist)
    from annotation.models import Item

    Item.objects.filter(project=dataset.project).update(label_state="pending")

    result = version_freeze_run(version_id=version.pk)

    assert result.status == "failed" and "Nothing to freeze" in result.error


def test_a_claimed_freeze_is_not_run_twice(dataset, scientist):
    version = version_freeze_start(project=dataset.project, user=scientist)
    version_freeze_run(version_id=version.pk)

    again = version_freeze_run(version_id=version.pk)

    assert again.status == "draft"
    assert VersionItem.objects.filter(version=version).count() == 5


def test_versions_are_numbered_per_project(dataset, scientist):
    other = ProjectFactory()
    first = frozen_version(dataset.project, scientist)
    version_publish(version=first, user=scientist)

    second = frozen_version(dataset.project, scientist)

    assert (first.number, second.number) == (1, 2)
    assert not DatasetVersion.objects.filter(project=other).exists()
