"""The label-noise check a model run asks for takes the run's out-of-fold probabilities when
they are of exactly its data (learning/services/oof.py), and computes its own otherwise."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from annotation.services.adjudication import gold_override
from learning.ml import noise as noise_core
from learning.models import ModelRun, NoiseRun
from learning.selectors import training_data
from learning.services.execute import model_run_execute
from learning.services.noise import noise_run_execute, noise_run_request
from learning.services.oof import oof_name
from learning.services.runs import model_run_request
from tests.learning.conftest import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def folds_computed(monkeypatch):
    """How many times the check fitted its own K folds."""
    calls = []
    real = noise_core.out_of_fold_proba

    def spy(*args, **kwargs):
        calls.append(kwargs.get("folds"))
        return real(*args, **kwargs)

    monkeypatch.setattr(noise_core, "out_of_fold_proba", spy)
    return calls


def _trained(project) -> tuple[ModelRun, NoiseRun]:
    build(project, gold=40, pool=20)
    run, _ = model_run_request(project=project, trigger="manual")
    run = model_run_execute(run_id=run.pk)
    assert run.status == ModelRun.Status.DONE and run.mode == "model" and run.error == ""
    return run, NoiseRun.objects.get(project=project, model_run=run)


def _kept(project) -> dict:
    with default_storage.open(oof_name(project.pk), "rb") as handle:
        return dict(np.load(io.BytesIO(handle.read())))


def test_the_check_after_a_model_run_takes_its_out_of_fold_probabilities(project, folds_computed):
    model_run, check = _trained(project)
    kept = _kept(project)
    data = training_data(project_id=project.pk, category_ids=[c["id"] for c in check.categories])
    np.testing.assert_array_equal(kept["gold_ids"], data.gold_ids)
    expected = noise_core.find_label_issues(
        data.texts, data.urls, data.Y, multi_label=True, features=noise_core.FeatureConfig(),
        seed=0, folds=5, pred_proba=kept["proba"],
    )  # fmt: skip

    check = noise_run_execute(run_id=check.pk)

    assert check.status == NoiseRun.Status.DONE, check.error
    assert folds_computed == []  # no K-fold fit of its own
    assert check.figures["out_of_fold_from_model_run"] == model_run.number
    assert check.figures["folds"] == 5 and "checking" in check.timings
    assert check.flagged_count == len(expected.findings)
    assert not default_storage.exists(oof_name(project.pk))  # taken once


def test_a_label_changed_since_the_model_run_means_the_check_computes_its_own(
    project, lead, folds_computed
):
    _, check = _trained(project)
    item_id = training_data(project_id=project.pk, category_ids=[]).item_ids[0]
    gold_override(project=project, item_id=int(item_id), lead=lead, category_ids=[],
                  none_of_these=True, rationale="fixed by hand")  # fmt: skip

    check = noise_run_execute(run_id=check.pk)

    assert check.status == NoiseRun.Status.DONE, check.error
    assert folds_computed == [5] and "out_of_fold_from_model_run" not in check.figures
    assert not default_storage.exists(oof_name(project.pk))


def test_other_folds_or_a_manual_check_compute_their_own(project, settings, folds_computed):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}
    _, check = _trained(project)

    assert noise_run_execute(run_id=check.pk).status == NoiseRun.Status.DONE
    assert folds_computed == [3]

    manual, _ = noise_run_request(project=project, trigger="manual")
    assert noise_run_execute(run_id=manual.pk).status == NoiseRun.Status.DONE
    assert folds_computed == [3, 3]


def test_with_no_check_after_model_runs_nothing_is_kept(project, settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_AFTER_MODEL_RUN": False}
    build(project, gold=40, pool=20)
    run, _ = model_run_request(project=project, trigger="manual")

    assert model_run_execute(run_id=run.pk).mode == "model"
    assert not default_storage.exists(oof_name(project.pk))


def test_an_unreadable_file_means_the_check_computes_its_own(project, folds_computed):
    _, check = _trained(project)
    default_storage.delete(oof_name(project.pk))
    default_storage.save(oof_name(project.pk), io.BytesIO(b"not an npz"))

    check = noise_run_execute(run_id=check.pk)

    assert check.status == NoiseRun.Status.DONE and folds_computed == [5]


def test_the_page_says_whose_probabilities_the_check_used(project, lead, client):
    model_run, check = _trained(project)
    noise_run_execute(run_id=check.pk)
    client.force_login(lead)

    page = client.get(reverse("learning-noise", args=[project.slug])).content.decode()

    assert f"out-of-fold probabilities of model run {model_run.number}'s 5-fold" in page
