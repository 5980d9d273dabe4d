"""learning_config_update and keyword_seeds_set: every bad input gives a clear error and changes
nothing."""

import pytest
from django.db import IntegrityError, transaction

from annotation.errors import InvalidInput
from annotation.models import Category
from learning.models import KeywordSeed, LearningConfig
from learning.selectors import keyword_seed_list, learning_config_get
from learning.services.config import keyword_seeds_set, learning_config_update
from tests.factories import CategoryFactory, ProjectFactory

pytestmark = pytest.mark.django_db

MIX = {
    "share_uncertainty": 0.1,
    "share_margin": 0.1,
    "share_entropy": 0.1,
    "share_multilabel": 0.1,
    "share_boundary": 0.1,
    "share_rare": 0.3,
    "share_audit": 0.2,
}


def test_defaults_before_anything_is_saved(project):
    config = learning_config_get(project=project)

    assert config.pk is None and config.enabled
    assert sum(config.shares().values()) == pytest.approx(1)
    assert config.share_audit >= config.audit_floor == 0.1


def test_the_default_model_share_is_boundaries_multi_label_and_uncertainty_single_label(project):
    assert project.multi_label
    multi = learning_config_get(project=project).shares()
    project.multi_label = False
    project.save()
    single = learning_config_get(project=project).shares()

    assert (multi["boundary"], multi["uncertainty"], multi["rare"]) == (0.3, 0.0, 0.5)
    assert (single["boundary"], single["uncertainty"], single["rare"]) == (0.0, 0.3, 0.5)
    # the defaults pass the project's own validation, so saving them as they are works
    learning_config_update(project=project, **{f"share_{k}": v for k, v in single.items()})


def test_settings_are_saved(project):
    config = learning_config_update(
        project=project, batch_size=250, retrain_every_labels=20, hashing=True, **MIX
    )

    saved = LearningConfig.objects.get(project=project)
    assert saved.pk == config.pk and saved.batch_size == 250 and saved.hashing
    assert saved.shares()["multilabel"] == saved.shares()["boundary"] == 0.1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**MIX, "share_rare": 0.4}, "add up to 1"),
        ({**MIX, "share_audit": 0.05, "share_rare": 0.45}, "audit share must be at least 0.1"),
        ({**MIX, "share_rare": -0.1, "share_uncertainty": 0.6}, "between 0 and 1"),
        ({"share_audit": float("nan")}, "must be a number"),
        ({"batch_size": 0}, "Batch size must be between 1 and 10000"),
        ({"batch_size": 10_001}, "Batch size must be between"),
        ({"batch_size": "ten"}, "Batch size must be a whole number"),
        ({"retrain_every_labels": -1}, "Retrain every labels must be between"),
        ({"enabled": "yes"}, "Enabled must be true or false"),
        ({"colour": "red"}, "Unknown setting: colour"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(project, fields, message):
    before = learning_config_update(project=project, batch_size=77)

    with pytest.raises(InvalidInput, match=message):
        learning_config_update(project=project, **fields)

    after = LearningConfig.objects.get(project=project)
    assert after.batch_size == 77 and after.shares() == before.shares()


@pytest.mark.parametrize(
    ("share", "name"),
    [("share_multilabel", "multi-label"), ("share_boundary", "category-boundary")],
)
def test_the_multilabel_strategies_need_a_multilabel_project(project, share, name):
    project.multi_label = False
    project.save()
    mix = {**MIX, "share_multilabel": 0.0, "share_boundary": 0.0, "share_rare": 0.4, share: 0.1}

    with pytest.raises(InvalidInput, match=f"The {name} strategy needs a multi-label project"):
        learning_config_update(project=project, **mix)
    assert not LearningConfig.objects.exists()


def test_the_schema_keeps_the_shares_honest(project):
    with pytest.raises(IntegrityError), transaction.atomic():
        LearningConfig.objects.create(project=project, share_rare=0.9)  # sums to 1.4
    with pytest.raises(IntegrityError), transaction.atomic():
        LearningConfig.objects.create(
            project=project, share_audit=0.05, share_rare=0.65, audit_floor=0.1
        )


def test_an_admin_raised_floor_binds_the_lead(project):
    LearningConfig.objects.create(project=project, audit_floor=0.2)

    with pytest.raises(InvalidInput, match="at least 0.2"):
        learning_config_update(project=project, share_audit=0.1, share_rare=0.6)


def test_keyword_seeds_are_cleaned_and_replaced(project):
    hate, violence = (Category.objects.get(project=project, name=n) for n in ("Hate", "Violence"))

    keyword_seeds_set(
        project=project,
        seeds={hate.pk: ["  slur ", "Slur", "", "sub  human"], violence.pk: ["gun"]},
    )
    keyword_seeds_set(project=project, seeds={violence.pk: []})

    rows = {r.category: r.keywords for r in keyword_seed_list(project=project)}
    assert rows["Hate"] == ["slur", "sub human"]
    assert rows["Violence"] == [] and rows["Adult Content"] == []
    assert KeywordSeed.objects.count() == 1


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ({"x": ["a"]}, "keyed by category id"),
        ({999999: ["a"]}, "No category 999999"),
        ({"HATE": ["a"]}, "keyed by category id"),
        ("HATE", "keyed by category id"),
    ],
)
def test_bad_seeds_are_refused(project, seeds, message):
    hate = Category.objects.get(project=project, name="Hate")
    keyword_seeds_set(project=project, seeds={hate.pk: ["slur"]})

    with pytest.raises(InvalidInput, match=message):
        keyword_seeds_set(project=project, seeds=seeds)

    assert KeywordSeed.objects.get().keywords == "slur"


def test_seeds_must_be_lists_of_short_strings(project):
    hate = Category.objects.get(project=project, name="Hate")
    for keywords, message in (
        ("slur", "must be a list"),
        ([3], "must be strings"),
        (["x" * 101], "longer than 100"),
        ([f"k{i}" for i in range(201)], "more than 200"),
    ):
        with pytest.raises(InvalidInput, match=message):
            keyword_seeds_set(project=project, seeds={hate.pk: keywords})
    assert not KeywordSeed.objects.exists()


def test_another_projects_category_is_not_yours(project):
    foreign = CategoryFactory(project=ProjectFactory())

    with pytest.raises(InvalidInput, match=f"No category {foreign.pk}"):
        keyword_seeds_set(project=project, seeds={foreign.pk: ["x"]})


def test_settings_and_seeds_change_together_or_not_at_all(project):
    foreign = CategoryFactory(project=ProjectFactory())

    with pytest.raises(InvalidInput):
        learning_config_update(project=project, batch_size=5, seeds={foreign.pk: ["x"]})

    assert not LearningConfig.objects.exists()
