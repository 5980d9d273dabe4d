"""The case page in a real browser: decide by keyboard (category hotkeys, R for the rationale,
Ctrl+Enter) and land on the next case; S skips; none of these excludes categories."""

import pytest

from annotation.models import AdjudicationCase, GoldLabel, Role
from tests.browser.conftest import log_in, server_paused
from tests.factories import CategoryFactory, ItemFactory, ProjectFactory, disagreement, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(db):
    project = ProjectFactory(overlap=2)
    hate = CategoryFactory(project=project, name="Hate", hotkey="1", sensitive=True)
    CategoryFactory(project=project, name="Spam", hotkey="2")
    member(project, Role.LEAD, username="lena")
    cases = [
        disagreement(ItemFactory(project=project, text='<img src=x onerror="alert(1)">'))
        for _ in range(3)
    ]
    order = list(
        AdjudicationCase.objects.filter(pk__in=[c.pk for c in cases])
        .order_by("-priority", "id")
        .values_list("pk", flat=True)
    )
    return project, hate, order


def test_decide_by_keyboard_then_next_case_then_skip(browser_page, live_server, setup):
    project, hate, order = setup
    page = browser_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server.url, "lena", "pw-123456")
    page.goto(f"{live_server.url}/p/{project.slug}/adjudication/{order[0]}/")

    page.keyboard.press("1")  # Hate on
    page.keyboard.press("0")  # none of these: Hate off
    page.keyboard.press("1")  # Hate on, none off
    page.keyboard.press("r")
    page.keyboard.type("A slur aimed at a group.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"**/adjudication/{order[1]}/")

    with server_paused():
        gold = GoldLabel.objects.get(item__adjudication_cases__pk=order[0], current=True)
        assert [c.pk for c in gold.categories.all()] == [hate.pk] and not gold.none_of_these
        assert gold.rationale == "A slur aimed at a group."
    page.keyboard.press("s")
    page.wait_for_url(f"**/adjudication/{order[2]}/")
    assert dialogs == []  # the hostile item text never ran


def test_decide_without_rationale_stays_and_focuses_it(browser_page, live_server, setup):
    project, _, order = setup
    page = browser_page
    log_in(page, live_server.url, "lena", "pw-123456")
    page.goto(f"{live_server.url}/p/{project.slug}/adjudication/{order[0]}/")

    page.keyboard.press("2")
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "adj-rationale"
    with server_paused():
        assert AdjudicationCase.objects.get(pk=order[0]).status == "open"
