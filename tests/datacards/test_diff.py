"""Diff of two versions on constructed cases: added, removed, relabeled (who, when, why), text
changes and prevalence change per class."""

import pytest
from django.test import Client

from annotation.errors import InvalidInput, NotFound
from annotation.models import GoldLabel, Item
from datacards.models import AnnotatorPseudonym
from datacards.selectors import version_diff
from datacards.services.versions import version_delete
from tests.datacards.conftest import when
from tests.factories import frozen_version, gold_label, labeled_item


@pytest.fixture
def two_versions(dataset, scientist):
    """v1 = the dataset; v2: a relabeled by the lead (+Violence), c sent back to adjudication
    (left out), f added, e's text corrected."""
    v1 = frozen_version(dataset.project, scientist, publish=True)
    cats, items = dataset.cats, dataset.items
    GoldLabel.objects.filter(item=items["a"], current=True).update(current=False)
    relabel = gold_label(items["a"], [cats["Hate"], cats["Violence"]], source="adjudication",
                         when=when(21))  # fmt: skip
    GoldLabel.objects.filter(pk=relabel.pk).update(
        decided_by=dataset.lead, rationale="Also a threat <b>here</b>."
    )
    Item.objects.filter(pk=items["c"].pk).update(label_state="adjudication")
    labeled_item(dataset.project, [(dataset.annotators[0], [cats["Self-Harm"]])],
                 [cats["Self-Harm"]], external_id="f", gold_when=when(22))  # fmt: skip
    Item.objects.filter(pk=items["e"].pk).update(text="<script>fixed</script>", content_hash="x")
    v2 = frozen_version(dataset.project, scientist)
    return v1, v2


def test_diff_lists_added_removed_and_relabeled_with_who_when_why(dataset, two_versions):
    v1, v2 = two_versions
    lead_code = AnnotatorPseudonym.objects.get(project=dataset.project, user=dataset.lead).code

    diff = version_diff(project=dataset.project, old_number=1, new_number=2)

    assert diff.counts == {
        "from_items": 5, "to_items": 5, "added": 1, "removed": 1, "relabeled": 1,
        "content_changed": 1, "unchanged_labels": 3,
    }  # fmt: skip
    assert [r["id"] for r in diff.added] == ["f"]
    assert diff.added[0]["labels"] == ["Self-Harm"]
    assert [r["id"] for r in diff.removed] == ["c"]
    assert diff.removed[0]["none_of_these"] is True
    (relabeled,) = diff.relabeled
    assert relabeled["id"] == "a"
    assert relabeled["before"]["labels"] == ["Hate"]
    assert relabeled["after"] == {
        "labels": ["Hate", "Violence"], "none_of_these": False, "source": "adjudication",
        "decided_by": lead_code, "decided_at": "2026-03-21T12:00:00.123456Z",
        "rationale": "Also a threat <b>here</b>.",
    }  # fmt: skip
    assert diff.content_changed == [
        {"id": "e", "item_id": dataset.items["e"].pk, "text": "<script>fixed</script>"}
    ]


def test_prevalence_change_per_class(dataset, two_versions):
    diff = version_diff(project=dataset.project, old_number=1, new_number=2)
    change = {p["name"]: p for p in diff.prevalence}

    assert change["Violence"]["positives_from"] == 1 and change["Violence"]["positives_to"] == 2
    assert change["Violence"]["change"] == pytest.approx(0.2)
    assert change["Self-Harm"]["from"] == 0.0 and change["Self-Harm"]["to"] == 0.2
    assert change["None of these"]["change"] == pytest.approx(-0.2)


def test_diff_in_the_other_direction_swaps_added_and_removed(dataset, two_versions):
    diff = version_diff(project=dataset.project, old_number=2, new_number=1)

    assert [r["id"] for r in diff.added] == ["c"]
    assert [r["id"] for r in diff.removed] == ["f"]
    assert diff.relabeled[0]["after"]["labels"] == ["Hate"]


def test_a_version_against_itself_has_no_changes(dataset, two_versions):
    diff = version_diff(project=dataset.project, old_number=2, new_number=2)

    assert diff.counts["added"] == diff.counts["removed"] == diff.counts["relabeled"] == 0
    assert diff.counts["unchanged_labels"] == 5


def test_lists_are_capped_but_counts_exact(dataset, scientist):
    frozen_version(dataset.project, scientist, publish=True)
    for i in range(4):
        labeled_item(dataset.project, [], [dataset.cats["Hate"]], external_id=f"new-{i}")
    frozen_version(dataset.project, scientist)

    diff = version_diff(project=dataset.project, old_number=1, new_number=2, limit=2)

    assert diff.counts["added"] == 4
    assert [r["id"] for r in diff.added] == ["new-0", "new-1"]


def test_bad_diffs_are_refused_clearly(dataset, scientist, two_versions):
    from tests.factories import CategoryFactory, ProjectFactory

    other = ProjectFactory()
    hate = CategoryFactory(project=other, name="Hate")
    labeled_item(other, [], [hate], external_id="x")
    frozen_version(other, scientist)

    with pytest.raises(NotFound, match="No version 3"):
        version_diff(project=dataset.project, old_number=1, new_number=3)
    # Version 1 of the other project is not version 1 of this one.
    assert version_diff(project=other, old_number=1, new_number=1).counts["to_items"] == 1
    with pytest.raises(InvalidInput, match="limit"):
        version_diff(project=dataset.project, old_number=1, new_number=2, limit=0)
    version_delete(version=two_versions[1])
    with pytest.raises(InvalidInput, match="deleted and has no rows"):
        version_diff(project=dataset.project, old_number=1, new_number=2)


def test_diff_api_and_page(dataset, scientist, two_versions):
    client = Client()
    client.force_login(scientist)
    slug = dataset.project.slug

    body = client.get(f"/api/projects/{slug}/versions/diff/?from=1&to=2").json()
    assert body["counts"]["relabeled"] == 1 and body["relabeled"][0]["id"] == "a"
    assert client.get(f"/api/projects/{slug}/versions/diff/?from=1&to=9").status_code == 404
    bad = client.get(f"/api/projects/{slug}/versions/diff/?from=x&to=2")
    assert bad.status_code == 400 and "from" in bad.json()["error"]

    page = client.get(f"/p/{slug}/versions/diff/?from=1&to=2")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Also a threat &lt;b&gt;here&lt;/b&gt;." in html
    assert "&lt;script&gt;fixed&lt;/script&gt;" in html and "<script>fixed" not in html
    assert f"({dataset.lead.username})" in html  # pseudonym resolved for members
    missing = client.get(f"/p/{slug}/versions/diff/?from=1&to=7")
    assert missing.status_code == 404 and "No version 7" in missing.content.decode()
