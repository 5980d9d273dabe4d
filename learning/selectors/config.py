"""A project's learning settings and keyword seeds, as pages, the API and runs read them."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from annotation.models import Category, Project

from ..models import KeywordSeed, LearningConfig


def learning_config_get(*, project: Project) -> LearningConfig:
    """The project's settings; an unsaved row with the defaults when a lead never saved any.

    The default mix is 0.3 model-driven, 0.5 rare-category hunt, 0.2 random audit. Its
    model-driven part is uncertainty sampling in single-label projects and the category
    boundaries in multi-label ones, where uncertainty sampling (the item's most uncertain
    category) did no better than random in the GoEmotions simulation and the boundaries did
    better on both targets (docs/benchmarks.md)."""
    config = LearningConfig.objects.filter(project=project).first()
    if config is None:
        floor = settings.GOLDSET["LEARNING_AUDIT_FLOOR"]
        config = LearningConfig(project=project, audit_floor=floor)
        if project.multi_label:  # the model-driven share goes to the category boundaries
            config.share_boundary = config.share_uncertainty
            config.share_uncertainty = 0.0
        config.share_audit = max(config.share_audit, config.audit_floor)
    return config


@dataclass(frozen=True)
class SeedRow:
    category_id: int
    category: str
    keywords: list[str]


def keyword_seed_list(*, project: Project) -> list[SeedRow]:
    """Every active category with its keywords (empty when none were entered), in array
    order. One query."""
    seeds = KeywordSeed.objects.filter(category=OuterRef("pk")).values("keywords")[:1]
    rows = (
        Category.objects.filter(project=project, active=True)
        .annotate(seed_keywords=Subquery(seeds))
        .order_by("order", "id")
        .values_list("pk", "name", "seed_keywords")
    )
    return [
        SeedRow(pk, name, [k for k in (words or "").splitlines() if k.strip()])
        for pk, name, words in rows
    ]
