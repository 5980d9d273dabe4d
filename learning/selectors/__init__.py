"""Reads of the learning app. None of them writes; each owns its query shape.

Split by area: `arrays` (what a run trains and scores on), `config` (settings and keyword
seeds), `runs` (runs, metrics and picks for pages and the API), `schedule` (the trigger check).
Everything is re-exported here: callers write `selectors.training_data(...)`.
"""

from .arrays import (
    CategoryRef,
    PoolChunk,
    TrainingData,
    earlier_pick_item_ids,
    pool_chunks,
    pool_queryset,
    run_categories,
    training_data,
)
from .config import SeedRow, keyword_seed_list, learning_config_get
from .runs import (
    CURVE_RUNS,
    PICKS_PAGE,
    RUNS_SHOWN,
    SNIPPET_CHARS,
    LearningOverview,
    PickRow,
    ReasonSummary,
    learning_overview,
    metric_rows,
    model_run_get,
    model_run_latest,
    model_run_list,
    pick_summary,
    picked_item_page,
)
from .schedule import ScheduleCandidate, new_gold_count, schedule_candidates

__all__ = [
    "CURVE_RUNS", "PICKS_PAGE", "RUNS_SHOWN", "SNIPPET_CHARS", "CategoryRef", "LearningOverview",
    "PickRow", "PoolChunk", "ReasonSummary", "ScheduleCandidate", "SeedRow", "TrainingData",
    "earlier_pick_item_ids", "keyword_seed_list", "learning_config_get", "learning_overview",
    "metric_rows", "model_run_get", "model_run_latest", "model_run_list", "new_gold_count",
    "pick_summary", "picked_item_page", "pool_chunks", "pool_queryset", "run_categories",
    "schedule_candidates", "training_data",
]  # fmt: skip
