"""What the periodic trigger check reads: which projects may retrain, and how much new gold
each has."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from annotation.models import GoldLabel, Project

from ..models import LearningConfig, ModelRun


@dataclass(frozen=True)
class ScheduleCandidate:
    project: Project
    every_labels: int
    every_minutes: int
    last_run_at: datetime | None


def schedule_candidates() -> list[ScheduleCandidate]:
    """Projects whose automatic retraining is on (no settings saved yet means the defaults,
    which are on) and that have no run in flight, with the time of their last run. One
    query; the caller then counts new gold labels per project, bounded by its threshold."""
    defaults = LearningConfig()
    config = LearningConfig.objects.filter(project=OuterRef("pk"))
    last_run = ModelRun.objects.filter(project=OuterRef("pk")).order_by("-number")
    in_flight = ModelRun.objects.filter(project=OuterRef("pk"), status__in=ModelRun.IN_FLIGHT)
    projects = (
        Project.objects.annotate(
            auto=Coalesce(Subquery(config.values("enabled")[:1]), defaults.enabled),
            every_labels=Coalesce(
                Subquery(config.values("retrain_every_labels")[:1]),
                defaults.retrain_every_labels,
            ),
            every_minutes=Coalesce(
                Subquery(config.values("retrain_every_minutes")[:1]),
                defaults.retrain_every_minutes,
            ),
            last_run_at=Subquery(last_run.values("created_at")[:1]),
            busy=Exists(in_flight),
        )
        .filter(auto=True, busy=False)
        .order_by("pk")
    )
    return [ScheduleCandidate(p, p.every_labels, p.every_minutes, p.last_run_at) for p in projects]


def new_gold_count(*, project: Project, since: datetime | None, cap: int) -> int:
    """Current gold labels created after `since`, counted up to `cap` (the threshold is all
    that matters, so a project with a million labels costs no more than one with a hundred).
    Served by the partial index gold_current_idx (project, created_at) WHERE current."""
    gold = GoldLabel.objects.filter(project=project, current=True)
    if since is not None:
        gold = gold.filter(created_at__gt=since)
    return gold.order_by()[: max(1, cap)].count()
