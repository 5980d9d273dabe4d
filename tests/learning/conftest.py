"""Fixtures of the learning tests: a project with gold labels and an unlabeled pool whose texts
carry words of their categories, so a model has something to learn."""

import random
from dataclasses import dataclass

import pytest

from annotation.models import Category, Item, Project
from tests.factories import ItemFactory, gold_label

WORDS = {
    "Adult Content": ["nude", "explicit", "xxx", "porn"],
    "Violence": ["fight", "blood", "gun", "attack"],
    "Self-Harm": ["cutting", "overdose", "hopeless", "scars"],
    "Hate": ["slur", "vermin", "inferior", "subhuman"],
    "Social Media": ["followers", "retweet", "hashtag", "likes"],
}
NEUTRAL = ["weather", "recipe", "garden", "train", "music", "coffee", "library", "football",
           "market", "holiday", "bread", "river", "school", "office", "window"]  # fmt: skip
# Self-Harm is the rare one: the hunt should go for it.
PREVALENCE = {"Adult Content": 0.3, "Violence": 0.3, "Self-Harm": 0.08, "Hate": 0.2,
              "Social Media": 0.3}  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Model artifacts go to a temporary media folder, never the project's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_text(rng: random.Random, names: list[str]) -> str:
    words = rng.sample(NEUTRAL, 6)
    for name in names:
        words += rng.sample(WORDS[name], 2)
    rng.shuffle(words)
    return " ".join(words)


def labels_for(rng: random.Random) -> list[str]:
    return [name for name, p in PREVALENCE.items() if rng.random() < p]


@dataclass
class LearningData:
    project: Project
    categories: dict[str, Category]
    gold: list[Item]
    pool: list[Item]


def build(project: Project, *, gold: int = 60, pool: int = 200, seed: int = 7) -> LearningData:
    """`gold` items with current gold labels (every category at least twice positive) and
    `pool` unlabeled items."""
    rng = random.Random(seed)
    categories = {c.name: c for c in Category.objects.filter(project=project)}
    gold_items = []
    for i in range(gold):
        names = labels_for(rng)
        if i < 2 * len(WORDS):  # every category appears at least twice
            names = sorted(set(names) | {list(WORDS)[i % len(WORDS)]})
        item = ItemFactory(project=project, text=make_text(rng, names), annotation_count=2)
        gold_label(item, [categories[n] for n in names], none=not names)
        gold_items.append(item)
    pool_items = [
        ItemFactory(project=project, text=make_text(rng, labels_for(rng))) for _ in range(pool)
    ]
    return LearningData(project, categories, gold_items, pool_items)


@pytest.fixture
def data(project) -> LearningData:
    return build(project)


@pytest.fixture
def execute_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks a block sends on commit (tests run inside a transaction that never
    commits)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
