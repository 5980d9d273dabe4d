"""Fixtures of the datacards tests: a small labeled project whose every figure is known."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from annotation.models import Category, Item, Project, Role
from tests.factories import ItemFactory, annotate, labeled_item, member


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Exports go to a temporary media folder, never the project's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@dataclass
class Dataset:
    project: Project
    cats: dict[str, Category]
    annotators: list
    lead: object
    items: dict[str, Item]


def when(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def dataset(project, lead) -> Dataset:
    """Six items: five frozen (gold, not gold questions), one pending, one gold question.

    gold: a [Hate] consensus, b [Violence] adjudicated (annotators split), c none of these,
    d [Adult Content, Social Media] picked by uncertainty with π = 0.25, e [Hate] with an
    unsure annotation. Annotators: u1 and u2 everywhere, u3 on e only.
    """
    cats = {c.name: c for c in Category.objects.filter(project=project)}
    u1, u2, u3 = (member(project, Role.ANNOTATOR) for _ in range(3))
    hate, violence = cats["Hate"], cats["Violence"]
    items = {
        "a": labeled_item(
            project,
            [(u1, [hate], {"when": when(1)}), (u2, [hate], {"when": when(2)})],
            [hate],
            external_id="a",
            gold_when=when(10),
            text='Plain <b>text</b> & "quotes"',
        ),
        "b": labeled_item(
            project,
            [(u1, [violence, hate], {"when": when(3)}), (u2, [violence], {"when": when(3)})],
            [violence],
            source="adjudication",
            decided_by=lead,
            rationale="Threat, not hate.",
            external_id="b",
            gold_when=when(11),
            text="Zweite Zeile\nmit Umlaut: äöü — ☃",
            url="https://example.org/b",
            title="B",
            metadata={"lang": "de", "score": 1.5, "nested": {"z": 1, "a": [1, 2]}},
        ),
        "c": labeled_item(
            project,
            [(u1, [], {"none": True, "when": when(4)}), (u2, [], {"none": True})],
            none=True,
            external_id="c",
            gold_when=when(12),
        ),
        "d": labeled_item(
            project,
            [(u1, [cats["Adult Content"], cats["Social Media"]]), (u2, [cats["Adult Content"]])],
            [cats["Adult Content"], cats["Social Media"]],
            external_id="d",
            gold_when=when(13),
            selection_reason=Item.SelectionReason.UNCERTAINTY,
            selection_run_id=7,
            inclusion_probability=0.25,
        ),
        "e": labeled_item(
            project,
            [(u1, [hate]), (u2, [hate]), (u3, [], {"unsure": True, "when": when(5)})],
            [hate],
            external_id="e",
            gold_when=when(14),
        ),
    }
    pending = ItemFactory(project=project, external_id="p")
    annotate(pending, u1, [hate])
    items["p"] = pending
    items["q"] = ItemFactory(project=project, external_id="q", is_gold_question=True)
    return Dataset(project=project, cats=cats, annotators=[u1, u2, u3], lead=lead, items=items)
