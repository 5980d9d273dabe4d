"""The annotate page in a real browser: label by keyboard, optimistic saves with retries and a
persisted outbox, refused saves put back on screen, skip, undo, comment focus, hostile text."""

import json

import pytest

from annotation.models import Annotation, Assignment, Item, LabelEvent, Role
from tests.browser.conftest import log_in, server_paused
from tests.factories import CategoryFactory, ProjectFactory, items, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CURRENT = "#ann-stage .ann-item"


def _current_id(page) -> int:
    return int(page.get_attribute(CURRENT, "data-item-id"))


def _label(page, keys: list[str]) -> int:
    """Press the keys on the shown item, submit with Enter, wait for the next one."""
    item_id = _current_id(page)
    for key in keys:
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "id => { const el = document.querySelector('#ann-stage .ann-item');"
        " return !el || el.dataset.itemId !== String(id); }",
        arg=item_id,
    )
    return item_id


def _wait_saved(page) -> None:
    page.wait_for_selector("#ann-status[data-state=saved]")


def _labels(user) -> dict[int, tuple[list[str], bool, str]]:
    """{item id: (category names, none of these, comment)} of the user's annotations."""
    with server_paused():
        mine = Annotation.objects.filter(annotator=user).prefetch_related("categories")
        return {
            a.item_id: (sorted(c.name for c in a.categories.all()), a.none_of_these, a.comment)
            for a in mine
        }


def _open(page, live_server, project, username="anna"):
    log_in(page, live_server.url, username, "pw-123456")
    page.goto(f"{live_server.url}/p/{project.slug}/annotate/")
    page.wait_for_selector(CURRENT)


@pytest.fixture
def setup(db):
    project = ProjectFactory(
        overlap=1,
        guidelines="## How to label\n\nLabel what the text **is**. <script>alert(1)</script>",
    )
    names = ["Adult Content", "Violence", "Hate", "Social Media"]
    for i, name in enumerate(names):
        CategoryFactory(
            project=project, name=name, hotkey=str(i + 1), order=i, sensitive=name == "Violence"
        )
    for i, item in enumerate(items(project, 5)):
        item.title = f"A forum post about gardening ({i})"
        item.url = f"https://www.example.org/forum/thread-{i}?page=2"
        item.text = "Has anyone tried growing tomatoes on a balcony?\n\nMine keep splitting."
        item.metadata = {"source": "forum", "lang": "en"}
        item.save()
    user = member(project, Role.ANNOTATOR, username="anna")
    return project, user


def test_label_three_items_by_keyboard_then_undo(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    _open(page, live_server, project)

    # Sensitive project: the text starts blurred and R reveals it.
    assert page.locator(f"{CURRENT} .ann-text-wrap.is-blurred").count() == 1
    page.keyboard.press("r")
    assert page.locator(f"{CURRENT} .ann-text-wrap.is-blurred").count() == 0

    # Nothing chosen: refused in the page, nothing sent.
    page.keyboard.press("Enter")
    assert "Choose at least one category" in page.inner_text("#ann-error")

    first = _label(page, ["1"])
    page.wait_for_selector(CURRENT)
    assert page.locator(f"{CURRENT} .ann-text-wrap.is-blurred").count() == 1  # blurred again
    second = _label(page, ["2", "3"])
    page.wait_for_selector(CURRENT)
    third = _label(page, ["0"])
    page.wait_for_selector(CURRENT)
    _wait_saved(page)
    page.wait_for_selector("#ann-toast:has-text('Saved — Z to undo')")

    assert _labels(user) == {
        first: (["Adult Content"], False, ""),
        second: (["Hate", "Violence"], False, ""),
        third: ([], True, ""),
    }
    with server_paused():
        mine = list(Annotation.objects.filter(annotator=user))
    assert len({a.idempotency_key for a in mine}) == 3
    assert all(a.time_spent_ms > 0 for a in mine)
    page.wait_for_selector("#ann-progress:has-text('3 done today')")

    # Z withdraws the last label and brings the item back pre-filled.
    page.keyboard.press("z")
    page.wait_for_selector(f"{CURRENT}[data-item-id='{third}'][data-undone]")
    assert page.get_attribute(f"{CURRENT} .ann-none", "aria-pressed") == "true"
    assert third not in _labels(user)
    with server_paused():
        undos = LabelEvent.objects.filter(item_id=third, action="undo", actor=user).count()
    assert undos == 1

    # Correct it to a category and submit again: stored once, with the new label.
    page.keyboard.press("4")
    assert page.get_attribute(f"{CURRENT} .ann-none", "aria-pressed") == "false"
    _label(page, [])
    _wait_saved(page)
    labels = _labels(user)
    assert len(labels) == 3 and labels[third] == (["Social Media"], False, "")

    page.wait_for_selector(CURRENT)
    page.keyboard.press("r")
    page.screenshot(path="/tmp/annotate.png", full_page=True)


def test_network_error_and_5xx_are_retried_with_the_same_key(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    seen = []

    def flaky(route):
        seen.append(json.loads(route.request.post_data)["idempotency_key"])
        if len(seen) == 1:
            route.abort("internetdisconnected")
        elif len(seen) == 2:
            route.fulfill(status=503, body="unavailable")
        else:
            route.continue_()

    page.route("**/annotate/submit/", flaky)
    _open(page, live_server, project)
    item_id = _label(page, ["1"])
    page.wait_for_selector("#ann-status[data-state=offline]")
    _wait_saved(page)

    assert len(seen) == 3 and len(set(seen)) == 1
    assert _labels(user) == {item_id: (["Adult Content"], False, "")}


def test_unsent_submit_survives_a_reload(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    page.route("**/annotate/submit/", lambda route: route.abort("internetdisconnected"))
    _open(page, live_server, project)
    item_id = _label(page, ["2"])
    page.wait_for_selector("#ann-status[data-state=offline]")
    assert _labels(user) == {}

    page.unroute("**/annotate/submit/")
    page.reload()
    page.wait_for_selector(CURRENT)
    _wait_saved(page)

    assert _labels(user) == {item_id: (["Violence"], False, "")}
    assert _current_id(page) != item_id  # the page moved on instead of re-showing it


def test_refused_submit_is_shown_and_the_item_comes_back(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    calls = []

    def refuse_once(route):
        calls.append(1)
        if len(calls) == 1:
            route.fulfill(
                status=400,
                content_type="application/json",
                body=json.dumps({"error": "Pretend the label is wrong.", "code": "invalid"}),
            )
        else:
            route.continue_()

    page.route("**/annotate/submit/", refuse_once)
    _open(page, live_server, project)
    item_id = _current_id(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")

    page.wait_for_selector("#ann-error:has-text('Pretend the label is wrong.')")
    page.wait_for_selector(f"{CURRENT}[data-item-id='{item_id}']")
    assert page.get_attribute(f"{CURRENT} .ann-cat[data-hotkey='1']", "aria-pressed") == "true"
    assert _labels(user) == {}

    _label(page, [])
    _wait_saved(page)
    assert _labels(user) == {item_id: (["Adult Content"], False, "")}


def test_skip_by_keyboard_asks_a_reason(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    _open(page, live_server, project)
    item_id = _current_id(page)

    page.keyboard.press("s")
    page.wait_for_selector("#ann-skip:not([hidden])")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "id => document.querySelector('#ann-stage .ann-item').dataset.itemId !== String(id)",
        arg=item_id,
    )

    with server_paused():
        lease = Assignment.objects.get(item_id=item_id, annotator=user)
    assert lease.state == "skipped" and lease.skip_reason == "Cannot load / empty"


def test_comment_field_swallows_hotkeys(live_server, browser_page, setup):
    project, user = setup
    page = browser_page
    _open(page, live_server, project)
    item_id = _current_id(page)

    page.keyboard.press("c")
    page.keyboard.type("1 unsure 0 z")
    assert page.locator(f"{CURRENT} [aria-pressed=true]").count() == 0
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    _wait_saved(page)

    assert _labels(user) == {item_id: (["Adult Content"], False, "1 unsure 0 z")}


def test_hostile_item_text_is_inert_in_the_browser(live_server, browser_page, setup):
    project, _user = setup
    bob = member(project, Role.ANNOTATOR, username="bob")
    Item.objects.filter(project=project).update(
        text='<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>',
        title="<b>bold?</b>",
        url="javascript:window.__pwned=1",
        metadata={"<img src=x onerror=window.__pwned=1>": "<script>window.__pwned=1</script>"},
    )
    page = browser_page
    _open(page, live_server, project, username="bob")
    page.keyboard.press("r")

    assert "<script>" in page.inner_text(f"{CURRENT} .ann-text")
    assert page.inner_text(f"{CURRENT} .ann-title") == "<b>bold?</b>"
    assert page.locator(f"{CURRENT} .ann-url a").count() == 0
    assert page.locator(f"{CURRENT} img, {CURRENT} b, #ann-guidelines script").count() == 0
    assert page.evaluate("window.__pwned") is None
    with server_paused():
        assert bob.annotations.count() == 0
