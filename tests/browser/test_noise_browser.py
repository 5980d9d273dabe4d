"""A likely label error on the case page in a real browser: U confirms and relabels with the
suggested label, Shift+D dismisses (the label is right); the hostile item text never runs."""

import pytest

from annotation.models import GoldLabel, Role
from learning.models import LabelIssue
from learning.services.noise import noise_run_execute, noise_run_request
from tests.browser.conftest import log_in, server_paused
from tests.factories import member, noisy_gold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def flagged(project, settings):
    settings.GOLDSET = {**settings.GOLDSET, "LEARNING_NOISE_FOLDS": 3}
    project.multi_label = False
    project.save(update_fields=["multi_label"])
    data = noisy_gold(project, per_class=10, flips=2)
    first = data["flipped"][0]
    first.text = '<img src=x onerror="alert(1)"> ' + first.text
    first.save(update_fields=["text"])
    member(project, Role.LEAD, username="lena")
    run, _ = noise_run_request(project=project, trigger="manual")
    assert noise_run_execute(run_id=run.pk).raised_count == 2
    return list(LabelIssue.objects.order_by("item_id"))


def test_u_confirms_the_suggestion_and_shift_d_dismisses(
    browser_page, live_server, project, flagged
):
    page = browser_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server.url, "lena", "pw-123456")
    confirm, dismiss = flagged

    page.goto(f"{live_server.url}/p/{project.slug}/adjudication/{confirm.case_id}/")
    assert page.is_visible("#label-error-flag")
    page.keyboard.press("u")
    page.wait_for_url(f"**/adjudication/{dismiss.case_id}/")  # the next open case

    with server_paused():
        confirm.refresh_from_db()
        assert confirm.status == "confirmed"
        gold = GoldLabel.objects.get(item_id=confirm.item_id, current=True)
        assert sorted(gold.categories.values_list("pk", flat=True)) == confirm.suggested
        assert gold.rationale.startswith("Likely label error confirmed (label-noise check 1")

    with page.expect_navigation():
        page.keyboard.press("Shift+D")
    page.wait_for_url(f"{live_server.url}/p/{project.slug}/adjudication/")  # no case left

    with server_paused():
        dismiss.refresh_from_db()
        assert dismiss.status == "dismissed"
        assert GoldLabel.objects.get(item_id=dismiss.item_id, current=True).pk == (
            dismiss.gold_label_id
        )
    assert dialogs == []
