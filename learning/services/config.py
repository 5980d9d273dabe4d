"""A project's learning settings (strategy mix, triggers, features) and keyword seeds.

Both pages and the API call these, so a rule (shares sum to 1, the audit share is at least its
floor, …) lives in one place with one message.
"""

import math
from collections.abc import Mapping

from django.db import transaction

from annotation.errors import InvalidInput
from annotation.models import Category, Project

from ..models import SHARE_FIELDS, SHARE_SUM_TOLERANCE, KeywordSeed, LearningConfig
from ..selectors import learning_config_get

EDITABLE_FIELDS = (
    "enabled",
    "retrain_every_labels",
    "retrain_every_minutes",
    "batch_size",
    "min_gold_labels",
    *SHARE_FIELDS,
    "hashing",
    "url_tokens",
    "seed",
)
MAX_BATCH = 10_000
MAX_EVERY_LABELS = 1_000_000
MAX_EVERY_MINUTES = 7 * 24 * 60
MAX_KEYWORDS = 200
MAX_KEYWORD_CHARS = 100
SEED_RANGE = (-(2**31), 2**31 - 1)


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name.replace('_', ' ').capitalize()} must be a whole number.")
    if not low <= value <= high:
        raise InvalidInput(
            f"{name.replace('_', ' ').capitalize()} must be between {low} and {high}."
        )
    return value


def _validate(project: Project, config: LearningConfig) -> None:
    _whole("retrain_every_labels", config.retrain_every_labels, 0, MAX_EVERY_LABELS)
    _whole("retrain_every_minutes", config.retrain_every_minutes, 0, MAX_EVERY_MINUTES)
    _whole("batch_size", config.batch_size, 1, MAX_BATCH)
    _whole("min_gold_labels", config.min_gold_labels, 0, MAX_EVERY_LABELS)
    _whole("seed", config.seed, *SEED_RANGE)
    shares = config.shares()
    for name, value in shares.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise InvalidInput(f"The {name} share must be a number.")
        if not 0 <= value <= 1:
            raise InvalidInput(f"The {name} share must be between 0 and 1.")
    total = sum(shares.values())
    if abs(total - 1) > SHARE_SUM_TOLERANCE:
        raise InvalidInput(f"The strategy shares must add up to 1 (they add up to {total:.4g}).")
    # The selection design itself needs some audit share (every pool item must be pickable);
    # imported here because the learning core loads scikit-learn.
    from ..ml.strategies import MIN_AUDIT_SHARE

    floor = max(config.audit_floor, MIN_AUDIT_SHARE)
    if config.share_audit < floor - SHARE_SUM_TOLERANCE:
        raise InvalidInput(
            f"The audit share must be at least {floor:g}: the uniform random part of every "
            "batch is what keeps the evaluation set's estimates unbiased."
        )
    if config.share_multilabel > 0 and not project.multi_label:
        raise InvalidInput("The multi-label strategy needs a multi-label project.")
    if config.share_boundary > 0 and not project.multi_label:
        raise InvalidInput("The category-boundary strategy needs a multi-label project.")


def learning_config_update(
    *, project: Project, seeds: Mapping[int, list[str]] | None = None, **fields
) -> LearningConfig:
    """Change the project's learning settings (any of EDITABLE_FIELDS) and, when `seeds` is
    given, replace its keyword seeds, in one transaction. Raises InvalidInput and changes
    nothing when any value is out of range. Runs already requested keep the settings they
    copied."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown setting: {', '.join(sorted(unknown))}.")
    config = learning_config_get(project=project)
    for name, value in fields.items():
        setattr(config, name, value)
    for name in ("enabled", "hashing", "url_tokens"):
        if not isinstance(getattr(config, name), bool):
            raise InvalidInput(f"{name.replace('_', ' ').capitalize()} must be true or false.")
    _validate(project, config)
    with transaction.atomic():
        config.save()
        if seeds is not None:
            _seeds_replace(project, seeds)
    return config


def keyword_seeds_set(*, project: Project, seeds: Mapping[int, list[str]]) -> None:
    """Replace the keyword seeds of the categories given ({category id: keywords}); the
    other categories keep theirs. Keywords are trimmed, deduplicated (case-insensitively) and
    empty ones dropped; an empty list removes the category's seeds."""
    with transaction.atomic():
        _seeds_replace(project, seeds)


def _clean_keywords(category: str, keywords) -> list[str]:
    if isinstance(keywords, str) or not isinstance(keywords, (list, tuple)):
        raise InvalidInput(f"Keywords of '{category}' must be a list of strings.")
    seen: set[str] = set()
    cleaned = []
    for keyword in keywords:
        if not isinstance(keyword, str):
            raise InvalidInput(f"Keywords of '{category}' must be strings.")
        keyword = " ".join(keyword.split())
        if not keyword or keyword.casefold() in seen:
            continue
        if len(keyword) > MAX_KEYWORD_CHARS:
            raise InvalidInput(
                f"A keyword of '{category}' is longer than {MAX_KEYWORD_CHARS} characters."
            )
        seen.add(keyword.casefold())
        cleaned.append(keyword)
    if len(cleaned) > MAX_KEYWORDS:
        raise InvalidInput(f"'{category}' has more than {MAX_KEYWORDS} keywords.")
    return cleaned


def _seeds_replace(project: Project, seeds: Mapping[int, list[str]]) -> None:
    if not isinstance(seeds, Mapping):
        raise InvalidInput("Seeds are keyed by category id.")
    try:
        wanted = {int(k): v for k, v in seeds.items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Seeds are keyed by category id.") from exc
    categories = {c.pk: c for c in Category.objects.filter(project=project, pk__in=list(wanted))}
    missing = sorted(set(wanted) - set(categories))
    if missing:
        raise InvalidInput(f"No category {missing[0]} in this project.")
    cleaned = {cid: _clean_keywords(categories[cid].name, kw) for cid, kw in wanted.items()}
    empty = [cid for cid, kw in cleaned.items() if not kw]
    KeywordSeed.objects.filter(category_id__in=empty).delete()
    existing = {s.category_id: s for s in KeywordSeed.objects.filter(category_id__in=cleaned)}
    for cid, keywords in cleaned.items():
        if not keywords:
            continue
        text = "\n".join(keywords)
        seed = existing.get(cid)
        if seed is None:
            KeywordSeed.objects.create(project=project, category_id=cid, keywords=text)
        elif seed.keywords != text:
            seed.keywords = text
            seed.save(update_fields=["keywords", "updated_at"])
