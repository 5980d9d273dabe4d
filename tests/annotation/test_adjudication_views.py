"""Adjudication pages: the queue, a case (decide by form, next case), the item page (history,
override, reopen, gold questions), the settings form, links and escaping."""

import pytest
from django.test import Client

from annotation.models import AdjudicationCase, Category, GoldLabel, Item, Project
from annotation.services.adjudication import case_open
from tests.factories import ItemFactory, disagreement, member, submit

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cat(project, name):
    return Category.objects.get(project=project, name=name)


def cases(project, n, **item_kwargs):
    return [disagreement(ItemFactory(project=project, **item_kwargs)) for _ in range(n)]


# --- the queue --------------------------------------------------------------------------------


def test_queue_lists_open_cases_by_priority_with_counts(project, lead):
    plain = disagreement(
        ItemFactory(project=project),
        first=[cat(project, "Adult Content")],
        second=[cat(project, "Social Media")],
    )
    sensitive = disagreement(
        ItemFactory(project=project),
        first=[cat(project, "Self-Harm")],
        second=[cat(project, "Social Media")],
    )
    case_open(item_id=ItemFactory(project=project).pk, reason="label_error")

    response = client_for(lead).get(f"/p/{project.slug}/adjudication/")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(f"/adjudication/{sensitive.pk}/") < body.index(f"/adjudication/{plain.pk}/")
    assert 'data-reason="disagreement">2<' in body and 'data-reason="label_error">1<' in body
    assert 'data-reason="unsure">0<' in body


def test_queue_filters_by_reason_and_category(project, lead):
    hate_case = disagreement(
        ItemFactory(project=project),
        first=[cat(project, "Hate")],
        second=[cat(project, "Violence")],
    )
    other = disagreement(
        ItemFactory(project=project),
        first=[cat(project, "Adult Content")],
        second=[cat(project, "Social Media")],
    )
    flagged = case_open(item_id=ItemFactory(project=project).pk, reason="label_error").case
    client = client_for(lead)

    by_category = client.get(f"/p/{project.slug}/adjudication/?category={cat(project, 'Hate').pk}")
    by_reason = client.get(f"/p/{project.slug}/adjudication/?reason=label_error")

    body = by_category.content.decode()
    assert f"/adjudication/{hate_case.pk}/" in body and f"/adjudication/{other.pk}/" not in body
    body = by_reason.content.decode()
    assert f"/adjudication/{flagged.pk}/" in body and f"/adjudication/{hate_case.pk}/" not in body
    bad = client.get(f"/p/{project.slug}/adjudication/?reason=whim")
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_queue_pages_by_keyset(project, lead):
    for _ in range(53):
        case_open(item_id=ItemFactory(project=project).pk, reason="label_error")
    client = client_for(lead)

    first = client.get(f"/p/{project.slug}/adjudication/")
    next_link = first.context["next_query"]
    second = client.get(f"/p/{project.slug}/adjudication/?{next_link}")

    assert len(first.context["page"].cases) == 50
    rest = second.context["page"].cases
    assert len(rest) == 3 and second.context["next_query"] is None
    seen = {c.pk for c in first.context["page"].cases} | {c.pk for c in rest}
    assert len(seen) == 53


def test_queue_query_count_does_not_grow_with_cases(project, lead, django_assert_num_queries):
    client = client_for(lead)
    cases(project, 2)
    client.get(f"/p/{project.slug}/adjudication/")  # warm the session
    with django_assert_num_queries(7) as few:
        client.get(f"/p/{project.slug}/adjudication/")
    cases(project, 6)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(f"/p/{project.slug}/adjudication/")


def test_queue_escapes_item_text(project, lead):
    disagreement(ItemFactory(project=project, text=HOSTILE, title=HOSTILE))

    body = client_for(lead).get(f"/p/{project.slug}/adjudication/").content.decode()

    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert "<img src=x" not in body


# --- a case -----------------------------------------------------------------------------------


def test_case_page_shows_letters_by_default_and_names_on_request(project, lead):
    a, b = member(project, username="alice"), member(project, username="bob")
    item = ItemFactory(project=project, text=HOSTILE, url="javascript:alert(1)")
    submit(item, a, [cat(project, "Hate")], comment="<b>rude</b>", time_spent_ms=4200)
    submit(item, b, [cat(project, "Social Media")], unsure=True)
    case = AdjudicationCase.objects.get(item=item)
    client = client_for(lead)

    blind = client.get(f"/p/{project.slug}/adjudication/{case.pk}/").content.decode()
    named = client.get(f"/p/{project.slug}/adjudication/{case.pk}/?names=1").content.decode()

    assert "alice" not in blind and "bob" not in blind
    assert '<span class="letter">A</span>' in blind and '<span class="letter">B</span>' in blind
    assert "alice" in named and "bob" in named
    assert "4.2 s" in blind and "&lt;b&gt;rude&lt;/b&gt;" in blind and "unsure" in blind
    assert "<script>alert" not in blind and 'href="javascript:' not in blind
    assert 'data-hotkey="3"' in blind  # the categories' hotkeys drive the keyboard
    assert "goldset/adjudicate.js" in blind


def test_decide_by_form_lands_on_the_next_case(project, lead):
    cases(project, 2)
    top, nxt = AdjudicationCase.objects.filter(status="open").order_by("-priority", "id")
    client = client_for(lead)

    response = client.post(
        f"/p/{project.slug}/adjudication/{top.pk}/",
        {"action": "decide", "categories": [cat(project, "Hate").pk], "rationale": "Clear slur."},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/p/{project.slug}/adjudication/{nxt.pk}/"
    gold = GoldLabel.objects.get(item=top.item, current=True)
    assert gold.source == "adjudication" and gold.rationale == "Clear slur."
    # The last case decided: back to the (empty) queue.
    response = client.post(
        f"/p/{project.slug}/adjudication/{nxt.pk}/",
        {"action": "decide", "none_of_these": "on", "rationale": "Harmless."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/p/{project.slug}/adjudication/"
    assert "No more open cases" in response.content.decode()


def test_decide_without_rationale_shows_the_error_and_keeps_the_choice(project, lead):
    (case,) = cases(project, 1)
    hate = cat(project, "Hate")

    response = client_for(lead).post(
        f"/p/{project.slug}/adjudication/{case.pk}/",
        {"action": "decide", "categories": [hate.pk], "rationale": ""},
    )

    assert response.status_code == 400
    assert "Write a rationale" in response.content.decode()
    assert response.context["chosen"] == {hate.pk}
    case.refresh_from_db()
    assert case.status == "open" and not GoldLabel.objects.filter(item=case.item).exists()


def test_deciding_a_closed_case_by_form_is_a_conflict(project, lead):
    (case,) = cases(project, 1)
    client = client_for(lead)
    data = {"action": "decide", "categories": [cat(project, "Hate").pk], "rationale": "r"}
    client.post(f"/p/{project.slug}/adjudication/{case.pk}/", data)

    response = client.post(f"/p/{project.slug}/adjudication/{case.pk}/", data)

    assert response.status_code == 409 and "already resolved" in response.content.decode()
    assert GoldLabel.objects.filter(item=case.item).count() == 1


def test_skip_goes_to_the_case_after_and_dismiss_keeps_gold(project, lead):
    cases(project, 2)
    top, nxt = AdjudicationCase.objects.filter(status="open").order_by("-priority", "id")
    client = client_for(lead)

    response = client.get(f"/p/{project.slug}/adjudication/next/?after={top.pk}")

    assert response["Location"] == f"/p/{project.slug}/adjudication/{nxt.pk}/"
    item = ItemFactory(project=project)
    submit(item, member(project), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])
    flagged = case_open(item_id=item.pk, reason="label_error").case
    page = client.get(f"/p/{project.slug}/adjudication/{flagged.pk}/")
    assert page.context["dismissible"]
    client.post(f"/p/{project.slug}/adjudication/{flagged.pk}/", {"action": "dismiss"})
    flagged.refresh_from_db()
    assert flagged.status == "dismissed"
    assert GoldLabel.objects.get(item=item, current=True).source == "consensus"


def test_scientists_and_annotators_cannot_adjudicate(project, scientist, annotator):
    (case,) = cases(project, 1)
    data = {"action": "decide", "categories": [cat(project, "Hate").pk], "rationale": "r"}
    for user in (scientist, annotator):
        client = client_for(user)
        assert client.get(f"/p/{project.slug}/adjudication/").status_code == 403
        assert client.post(f"/p/{project.slug}/adjudication/{case.pk}/", data).status_code == 403
    case.refresh_from_db()
    assert case.status == "open"


# --- the item page ----------------------------------------------------------------------------


def test_item_page_shows_annotations_history_and_audit(project, lead, scientist):
    item = ItemFactory(project=project, text=HOSTILE)
    submit(item, member(project, username="carol"), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])

    for user in (lead, scientist):
        response = client_for(user).get(f"/p/{project.slug}/items/{item.pk}/")
        body = response.content.decode()
        assert response.status_code == 200
        assert "Annotators agreed" in body and "Gold label set" in body and "Submitted" in body
        assert "carol" not in body and "<script>alert" not in body
    assert (
        'value="override"'
        in client_for(lead).get(f"/p/{project.slug}/items/{item.pk}/").content.decode()
    )
    assert (
        'value="override"'
        not in client_for(scientist).get(f"/p/{project.slug}/items/{item.pk}/").content.decode()
    )


def test_item_page_actions_for_leads(project, lead, scientist):
    item = ItemFactory(project=project)
    submit(item, member(project), [cat(project, "Hate")])
    submit(item, member(project), [cat(project, "Hate")])
    url = f"/p/{project.slug}/items/{item.pk}/"
    client = client_for(lead)

    assert client_for(scientist).post(url, {"action": "reopen", "note": "n"}).status_code == 403
    assert client.post(url, {"action": "reopen", "note": ""}).status_code == 400
    assert client.post(url, {"action": "reopen", "note": "Check again."}).status_code == 302
    assert AdjudicationCase.objects.get(item=item, reason="reopened").status == "open"

    override = {"action": "override", "none_of_these": "on", "rationale": "Harmless."}
    assert client.post(url, override).status_code == 302
    gold = GoldLabel.objects.get(item=item, current=True)
    assert gold.none_of_these and gold.source == "adjudication"
    assert not AdjudicationCase.objects.filter(item=item, status="open").exists()

    mark = {"action": "set_gold_question", "categories": [cat(project, "Violence").pk]}
    assert client.post(url, mark).status_code == 302
    item.refresh_from_db()
    assert item.is_gold_question
    assert client.post(url, {"action": "unset_gold_question"}).status_code == 302
    item.refresh_from_db()
    assert not item.is_gold_question


def test_unknown_item_is_404(project, lead):
    assert client_for(lead).get(f"/p/{project.slug}/items/999999/").status_code == 404


def test_items_list_links_to_the_item_page(project, lead):
    item = ItemFactory(project=project)

    body = client_for(lead).get(f"/p/{project.slug}/items/").content.decode()

    assert f'href="/p/{project.slug}/items/{item.pk}/"' in body


def test_nav_links_adjudication_for_leads_only(project, lead, scientist):
    assert (
        f"/p/{project.slug}/adjudication/"
        in client_for(lead).get(f"/p/{project.slug}/items/").content.decode()
    )
    assert (
        f"/p/{project.slug}/adjudication/"
        not in client_for(scientist).get(f"/p/{project.slug}/items/").content.decode()
    )


# --- settings ---------------------------------------------------------------------------------


def settings_data(project, **changes):
    data = {
        "name": project.name,
        "description": "",
        "guidelines": project.guidelines,
        "multi_label": "on",
        "overlap": project.overlap,
        "lease_minutes": project.lease_minutes,
        "consolidation_rule": project.consolidation_rule,
        "gold_question_rate": project.gold_question_rate,
        "gold_alert_threshold": project.gold_alert_threshold,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_settings_form_saves_consolidation_settings(project, lead):
    client = client_for(lead)
    page = client.get(f"/p/{project.slug}/settings/").content.decode()
    assert 'name="consolidation_rule"' in page and 'name="gold_question_rate"' in page

    response = client.post(
        f"/p/{project.slug}/settings/",
        settings_data(project, overlap=3, consolidation_rule="majority", gold_question_rate=0.05),
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.overlap == 3 and project.consolidation_rule == "majority"
    assert project.gold_question_rate == 0.05


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"consolidation_rule": "majority"}, "majority rule needs at least 3"),
        ({"overlap": 3, "adaptive_overlap": "on"}, "Adaptive overlap works with exactly 2"),
        ({"gold_question_rate": 0.9}, "gold-question rate is a share from 0 to 0.5"),
        ({"gold_alert_threshold": "high"}, "Enter a number"),
    ],
)
def test_settings_form_refuses_bad_combinations(project, lead, changes, message):
    before = Project.objects.values().get(pk=project.pk)

    response = client_for(lead).post(
        f"/p/{project.slug}/settings/", settings_data(project, name="Renamed", **changes)
    )

    assert response.status_code == 200 and message in response.content.decode()
    assert Project.objects.values().get(pk=project.pk) == before


def test_item_label_state_follows_decisions(project, lead):
    (case,) = cases(project, 1)
    client_for(lead).post(
        f"/p/{project.slug}/adjudication/{case.pk}/",
        {"action": "decide", "categories": [cat(project, "Hate").pk], "rationale": "r"},
    )
    assert Item.objects.get(pk=case.item_id).label_state == "gold"
