"""Weights of active-learning picks whose batch was only partly labeled: 1/(π·f), f the labeled
fraction of the batch, on the rows, the card, the documents and the page."""

import dataclasses
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotation.models import Category, Item, Role
from datacards.documents import card_input, croissant_jsonld, readme_markdown
from datacards.models import VersionItem
from datacards.services.batches import batch_fractions
from learning.models import ModelRun, PickedItem
from tests.factories import ItemFactory, frozen_version, labeled_item, member


def run_of(project, number):
    return ModelRun.objects.create(project=project, number=number, status="done", trigger="manual")


def pick(run, item, rank, probability, reason="uncertainty"):
    return PickedItem.objects.create(
        run=run, item=item, rank=rank, reason=reason, inclusion_probability=probability
    )


def picked_gold(project, run, rank, probability, gold, who, *, external_id, reason="uncertainty"):
    """An item run `run` picked and queued (its provenance), labeled and with a gold label."""
    item = labeled_item(
        project,
        [(who, gold, {"none": not gold})],
        gold,
        none=not gold,
        external_id=external_id,
        selection_reason=reason,
        selection_run_id=run.pk,
        inclusion_probability=probability,
    )
    pick(run, item, rank, probability, reason)
    return item


@pytest.fixture
def batches(project):
    """Run 1 picked 4 items with π = 0.5 and 2 of them got gold labels (one an audit pick; of
    the other two one was released unstarted, one is still in adjudication). Run 2 picked 2
    items with π = 0.4 and both got gold labels. Three items no run picked have gold labels.

    gold: a1 [Hate], a2 [Violence], b1 [Hate], b2 none, c1 [Hate], c2 none, c3 [Violence].
    """
    cats = {c.name: c for c in Category.objects.filter(project=project)}
    hate, violence = cats["Hate"], cats["Violence"]
    who = member(project, Role.ANNOTATOR)
    first, second = run_of(project, 1), run_of(project, 2)
    picked_gold(project, first, 0, 0.5, [hate], who, external_id="a1")
    picked_gold(project, first, 1, 0.5, [violence], who, external_id="a2", reason="audit")
    released = ItemFactory(project=project, external_id="a3")  # back to "random", no run, no π
    pick(first, released, 2, 0.5, "audit")
    waiting = ItemFactory(
        project=project,
        external_id="a4",
        label_state=Item.LabelState.ADJUDICATION,
        selection_reason="uncertainty",
        selection_run_id=first.pk,
        inclusion_probability=0.5,
    )
    pick(first, waiting, 3, 0.5)
    picked_gold(project, second, 0, 0.4, [hate], who, external_id="b1")
    picked_gold(project, second, 1, 0.4, [], who, external_id="b2", reason="audit")
    labeled_item(project, [(who, [hate])], [hate], external_id="c1")
    labeled_item(project, [(who, [], {"none": True})], none=True, external_id="c2")
    labeled_item(project, [(who, [violence])], [violence], external_id="c3")
    return {"first": first, "second": second, "cats": cats}


def rows(version):
    return {r.external_id: r for r in VersionItem.objects.filter(version=version)}


def test_a_batch_cut_short_weighs_its_labeled_picks_by_one_over_pi_f(batches, project, scientist):
    version = frozen_version(project, scientist)

    frozen = rows(version)

    assert sorted(frozen) == ["a1", "a2", "b1", "b2", "c1", "c2", "c3"]
    # run 1: π = 0.5, 2 of its 4 picks labeled (f = 0.5): 1 / (0.5 × 0.5) = 4, audit pick too
    for name in ("a1", "a2"):
        assert (frozen[name].inclusion_probability, frozen[name].weight) == (0.5, 4.0)
    assert frozen["a2"].selection_reason == "audit"


def test_a_batch_labeled_whole_keeps_one_over_pi(batches, project, scientist):
    frozen = rows(frozen_version(project, scientist))

    # run 2: both of its 2 picks labeled (f = 1): 1 / 0.4
    for name in ("b1", "b2"):
        assert frozen[name].inclusion_probability == 0.4
        assert frozen[name].weight == pytest.approx(1 / 0.4)


def test_items_no_run_picked_weigh_one(batches, project, scientist):
    frozen = rows(frozen_version(project, scientist))

    for name in ("c1", "c2", "c3"):
        assert frozen[name].inclusion_probability is None and frozen[name].weight == 1.0
        assert frozen[name].selection_run_id is None


def test_the_card_records_each_runs_labeled_fraction(batches, project, scientist):
    card = frozen_version(project, scientist).card

    first, second = batches["first"], batches["second"]
    assert card["format"] == 2
    assert card["model_runs"] == [
        {"run_id": first.pk, "number": 1, "items": 2, "picks": 4, "labeled": 2,
         "labeled_fraction": 0.5},
        {"run_id": second.pk, "number": 2, "items": 2, "picks": 2, "labeled": 2,
         "labeled_fraction": 1.0},
    ]  # fmt: skip
    assert card["weighting"]["weighted_items"] == 4  # a1, a2, b1, b2
    assert card["weighting"]["adjusted_items"] == 2  # a1, a2: their batch was cut short
    assert "1/(π·f)" in card["weighting"]["rule"] and "audit" in card["weighting"]["rule"]


def test_weighted_prevalence_matches_a_hand_computation(batches, project, scientist):
    card = frozen_version(project, scientist).card
    prevalence = {p["name"]: p for p in card["prevalence"]}

    # weights: a1 a2 4, b1 b2 2.5, c1 c2 c3 1; Σw = 8 + 5 + 3 = 16.
    # Hate: a1 + b1 + c1 = 4 + 2.5 + 1 = 7.5; Violence: a2 + c3 = 5; none: b2 + c2 = 3.5.
    # (With 1/π alone, a1 and a2 would weigh 2: Hate would be 5.5 / 12.)
    assert prevalence["Hate"]["weighted"]["value"] == 7.5 / 16
    assert prevalence["Violence"]["weighted"]["value"] == 5 / 16
    assert prevalence["None of these"]["weighted"]["value"] == 3.5 / 16
    assert prevalence["Self-Harm"]["weighted"]["value"] == 0.0
    # the effective size of the linearised variance, by hand for Hate
    data = [(4, 1), (4, 0), (2.5, 1), (2.5, 0), (1, 1), (1, 0), (1, 0)]
    p = 7.5 / 16
    variance = sum(w * w * (y - p) ** 2 for w, y in data) / 16**2
    assert prevalence["Hate"]["weighted"]["n_eff"] == pytest.approx(
        p * (1 - p) / variance, abs=0.01
    )
    hate = prevalence["Hate"]["weighted"]
    assert hate["low"] < p < hate["high"]


def test_a_pick_picked_again_by_a_later_run_counts_for_the_later_batch(project, scientist):
    """Run 1 picked x and y (π = 0.5) and a1; run 2 released y, picked x again (π = 0.4) with
    z and w, and only x got labeled: x is run 2's (f = 1/3), not run 1's (f = 1/3: a1 alone)."""
    hate = Category.objects.get(project=project, name="Hate")
    who = member(project, Role.ANNOTATOR)
    first, second = run_of(project, 1), run_of(project, 2)
    picked_gold(project, first, 0, 0.5, [hate], who, external_id="a1")
    x = picked_gold(project, second, 0, 0.4, [hate], who, external_id="x")
    pick(first, x, 1, 0.5)
    pick(first, ItemFactory(project=project, external_id="y"), 2, 0.5)
    pick(second, ItemFactory(project=project, external_id="z"), 1, 0.4)
    pick(second, ItemFactory(project=project, external_id="w"), 2, 0.4, "audit")

    version = frozen_version(project, scientist)
    frozen = rows(version)

    assert frozen["a1"].weight == pytest.approx(1 / (0.5 * (1 / 3)))
    assert frozen["x"].weight == pytest.approx(1 / (0.4 * (1 / 3)))
    fractions = {r["number"]: r["labeled_fraction"] for r in version.card["model_runs"]}
    assert fractions == {1: round(1 / 3, 6), 2: round(1 / 3, 6)}


def test_the_fractions_are_one_query_whatever_the_number_of_runs_and_picks(project):
    def selects():
        with CaptureQueriesContext(connection) as captured:
            found = batch_fractions(project_id=project.pk)
        # a savepoint wraps the read (a missing table must not abort the freeze)
        return found, [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]

    run = run_of(project, 1)
    pick(run, ItemFactory(project=project), 0, 0.5)
    _, few = selects()
    for number in (2, 3, 4):
        later = run_of(project, number)
        for rank in range(5):
            pick(later, ItemFactory(project=project), rank, 0.2)

    found, many = selects()

    assert len(few) == len(many) == 1
    assert sorted(b.picks for b in found.values()) == [1, 5, 5, 5]
    assert all(b.labeled == 0 and b.fraction is None for b in found.values())


def test_weights_and_hash_are_the_same_on_a_second_freeze(batches, project, scientist):
    first = frozen_version(project, scientist, publish=True)
    second = frozen_version(project, scientist)

    assert second.content_hash == first.content_hash
    weights = {r.external_id: r.weight for r in VersionItem.objects.filter(version=second)}
    assert weights == {r.external_id: r.weight for r in rows(first).values()}


def test_readme_croissant_and_page_say_how_weights_are_computed(batches, project, scientist):
    version = frozen_version(project, scientist)
    ci = card_input(version=version)

    readme = readme_markdown(ci)
    croissant = croissant_jsonld(ci)
    client = Client()
    client.force_login(scientist)
    page = client.get(f"/p/{project.slug}/versions/{version.number}/").content.decode()

    assert "#### Weights" in readme and "1/(π·f)" in readme
    assert "| 1 | 4 | 2 | 50.0% |" in readme and "| 2 | 2 | 2 | 100.0% |" in readme
    assert "effective inclusion probability π·f" in readme
    biases = " ".join(croissant["rai:dataBiases"])
    assert "1/(π·f)" in biases and "run 1: 2 of 4 picks (50.0%)" in biases
    assert 'id="table-batches"' in page and "1/(π·f)" in page


def test_cards_frozen_before_render_as_they_did(batches, project, scientist):
    """A format-1 card (weights 1/π, no rule, runs without batch figures) keeps its wording,
    so a published version's documents keep their bytes."""
    ci = card_input(version=frozen_version(project, scientist))
    card = json.loads(json.dumps(ci.card))
    card["format"] = 1
    card["weighting"] = {
        "weighted_items": card["weighting"]["weighted_items"],
        "applies": True,
        "estimator": "Hájek (w = 1/π), linearised variance, Wilson interval at n_eff",
    }
    card["model_runs"] = [{"run_id": r["run_id"], "items": r["items"]} for r in card["model_runs"]]
    legacy = dataclasses.replace(ci, card=card)

    readme = readme_markdown(legacy)
    biases = croissant_jsonld(legacy)["rai:dataBiases"]

    assert "#### Weights" not in readme and "1/(π·f)" not in readme
    assert "the item's inclusion probability and 1/π" in readme
    assert "items carry an inclusion probability below 1" in readme
    assert biases[0].endswith("Each row carries its inclusion probability and weight (1/π).")
    assert len(biases) == 2
