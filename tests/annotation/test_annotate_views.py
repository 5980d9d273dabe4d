"""The annotator page and its endpoints: access, escaping, submit/replay, prefetch, skip, undo,
renew, release, progress, query counts, blur and CSRF."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import Annotation, Assignment, LabelEvent
from annotation.services.annotations import annotation_submit
from annotation.services.queue import item_claim_next
from tests.factories import CategoryFactory, ItemFactory, ProjectFactory, items, member

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The queue-remaining figure is cached per project id; ids repeat between tests."""
    cache.clear()
    yield
    cache.clear()


def url(project, name=""):
    return reverse(f"annotate-{name}" if name else "annotate", args=[project.slug])


def post_json(client, target, data):
    return client.post(target, json.dumps(data), content_type="application/json")


def claim(project, user, exclude=()):
    return item_claim_next(project=project, annotator=user, exclude_item_ids=tuple(exclude)).item


def submit_body(item, categories=(), key="key-000001", **extra):
    return {
        "item_id": item.pk,
        "categories": [c.pk for c in categories],
        "idempotency_key": key,
        "time_spent_ms": 1234,
        **extra,
    }


# ---------- the page ----------


@pytest.mark.parametrize("role", ["annotator", "lead"])
def test_page_renders_first_item_with_hotkeys_for_annotators_and_leads(
    client, project, request, role
):
    user = request.getfixturevalue(role)
    (item,) = items(project, 1)
    client.force_login(user)

    response = client.get(url(project))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-item-id="{item.pk}"' in html
    assert item.text in html
    assert "<kbd>1</kbd> Adult Content" in html and "<kbd>0</kbd> None of these" in html
    assert Assignment.objects.get(item=item, annotator=user).state == "active"


def test_page_refuses_scientists_and_hides_from_outsiders(client, project, scientist, outsider):
    items(project, 1)
    client.force_login(scientist)
    assert client.get(url(project)).status_code == 403
    client.force_login(outsider)
    assert client.get(url(project)).status_code == 404
    assert not Assignment.objects.exists()


def test_anonymous_is_sent_to_login(client, project):
    response = client.get(url(project))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_hostile_item_fields_are_escaped_and_javascript_url_is_not_a_link(
    client, project, annotator
):
    ItemFactory(
        project=project,
        text=HOSTILE,
        title=HOSTILE,
        url="javascript:alert(1)",
        metadata={HOSTILE: HOSTILE, "items": "<b>x</b>"},
    )
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # text, title, meta k/v
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert 'href="javascript' not in html
    assert '<span class="ann-url-text">javascript:alert(1)</span>' in html


def test_http_url_is_a_safe_link_with_its_domain_shown(client, project, annotator):
    ItemFactory(project=project, url='https://www.example.org/a?b=1&c="x"')
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert 'href="https://www.example.org/a?b=1&amp;c=&quot;x&quot;"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<span class="ann-domain" title="Domain">example.org</span>' in html


def test_guidelines_are_rendered_markdown_without_script(client, project, annotator):
    project.guidelines = "## Rules\n\nLabel **what it is**.\n\n<script>alert(1)</script>"
    project.save()
    items(project, 1)
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert "<h2>Rules</h2>" in html and "<strong>what it is</strong>" in html
    assert "<script>alert(1)</script>" not in html


def test_sensitive_project_blurs_text_and_plain_project_does_not(client, project, annotator):
    items(project, 1)  # the fixture project has sensitive categories (Violence, Self-Harm)
    client.force_login(annotator)
    assert "ann-text-wrap is-blurred" in client.get(url(project)).content.decode()

    plain = ProjectFactory()
    CategoryFactory(project=plain, name="Spam", hotkey="1")
    CategoryFactory(project=plain, name="Gore", hotkey="2", sensitive=True, active=False)
    items(plain, 1)
    user = member(plain)
    client.force_login(user)
    html = client.get(url(plain)).content.decode()
    assert "ann-text-wrap" in html and "is-blurred" not in html


def test_empty_queue_shows_the_friendly_state_with_done_counts(client, project, annotator):
    (item,) = items(project, 1)
    claim(project, annotator)
    annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        none_of_these=True,
        idempotency_key="empty-key-1",
    )
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert "Nothing left for you in this project" in html
    assert 'class="ann-item"' not in html
    empty = html[html.index('id="ann-empty"') :]
    assert "<strong>1</strong> done today" in empty and "<strong>1</strong> done in total" in empty


def test_comment_key_moves_when_a_category_uses_c(client, annotator, project):
    CategoryFactory(project=project, name="Crypto", hotkey="c")
    items(project, 1)
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert 'data-comment-key="/"' in html


@pytest.mark.parametrize(("n_categories", "n_items"), [(2, 2), (12, 30)])
def test_page_query_count_does_not_grow(client, django_assert_num_queries, n_categories, n_items):
    project = ProjectFactory()
    for i in range(n_categories):
        CategoryFactory(project=project, hotkey="123456789abcdefhijk"[i], sensitive=i == 1)
    items(project, n_items)
    user = member(project)
    client.force_login(user)

    with django_assert_num_queries(13):
        response = client.get(url(project))
    assert response.status_code == 200


# ---------- next (prefetch) ----------


def test_next_returns_a_different_item_than_the_excluded_one(client, project, annotator):
    items(project, 3)
    client.force_login(annotator)
    first = claim(project, annotator)

    response = post_json(client, url(project, "next"), {"exclude": [first.pk]})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="ann-item"' in html and f'data-item-id="{first.pk}"' not in html
    assert Assignment.objects.filter(annotator=annotator, state="active").count() == 2


def test_next_is_204_when_nothing_is_left(client, project, annotator):
    (only,) = items(project, 1)
    client.force_login(annotator)
    claim(project, annotator)

    response = post_json(client, url(project, "next"), {"exclude": [only.pk]})

    assert response.status_code == 204 and response.content == b""


def test_next_with_bad_exclude_is_a_clear_400(client, project, annotator):
    items(project, 1)
    client.force_login(annotator)

    response = post_json(client, url(project, "next"), {"exclude": ["abc"]})

    assert response.status_code == 400
    assert response.json() == {"error": "'exclude' must be a whole number.", "code": "bad_field"}
    assert not Assignment.objects.exists()


@pytest.mark.parametrize(("n_categories", "n_items"), [(2, 3), (12, 30)])
def test_next_query_count_does_not_grow(client, django_assert_num_queries, n_categories, n_items):
    project = ProjectFactory()
    for i in range(n_categories):
        CategoryFactory(project=project, hotkey="123456789abcdefhijk"[i])
    items(project, n_items)
    user = member(project)
    client.force_login(user)
    first = claim(project, user)

    with django_assert_num_queries(10):
        response = post_json(client, url(project, "next"), {"exclude": [first.pk]})
    assert response.status_code == 200


# ---------- submit ----------


def test_submit_creates_then_replay_returns_200_without_duplicating(client, project, annotator):
    items(project, 1)
    client.force_login(annotator)
    item = claim(project, annotator)
    cats = list(project.categories.all()[:2])
    body = submit_body(item, cats, key="replay-key-1", comment="hm")

    first = post_json(client, url(project, "submit"), body)
    again = post_json(client, url(project, "submit"), body)

    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["annotation_id"] == first.json()["annotation_id"]
    ann = Annotation.objects.get()
    assert sorted(ann.categories.values_list("pk", flat=True)) == sorted(c.pk for c in cats)
    assert ann.comment == "hm" and ann.time_spent_ms == 1234
    assert LabelEvent.objects.count() == 1


def test_submit_accepts_form_data_too(client, project, annotator):
    items(project, 1)
    client.force_login(annotator)
    item = claim(project, annotator)

    response = client.post(
        url(project, "submit"),
        {
            "item_id": item.pk,
            "none_of_these": "true",
            "unsure": "1",
            "idempotency_key": "form-key-01",
        },
    )

    assert response.status_code == 201
    ann = Annotation.objects.get()
    assert ann.none_of_these and ann.unsure and not ann.categories.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": []}, "Choose at least one category"),
        ({"none_of_these": True}, "cannot be combined"),
        ({"idempotency_key": "bad key!"}, "idempotency_key must be"),
        ({"categories": ["x"]}, "'categories' must be a whole number."),
        ({"item_id": None}, "'item_id' must be a whole number."),
        ({"comment": "x" * 2001}, "limited to 2000"),
    ],
)
def test_bad_submit_is_400_json_and_stores_nothing(client, project, annotator, change, message):
    items(project, 1)
    client.force_login(annotator)
    item = claim(project, annotator)
    body = {**submit_body(item, [project.categories.first()]), **change}

    response = post_json(client, url(project, "submit"), body)

    assert response.status_code == 400
    assert message in response.json()["error"] and response.json()["code"]
    assert not Annotation.objects.exists() and not LabelEvent.objects.exists()
    assert Assignment.objects.get(item=item).state == "active"  # still theirs to correct


def test_invalid_json_body_is_a_clear_400(client, project, annotator):
    client.force_login(annotator)
    response = client.post(url(project, "submit"), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "The request body is not valid JSON."


def test_submit_for_an_item_never_leased_is_409(client, project, annotator, lead):
    items(project, 1)
    client.force_login(annotator)
    other = claim(project, lead)

    response = post_json(
        client, url(project, "submit"), submit_body(other, [project.categories.first()])
    )

    assert response.status_code == 409 and response.json()["code"] == "not_assigned"
    assert not Annotation.objects.exists()


def test_endpoints_refuse_scientists_outsiders_and_anonymous_with_json(
    client, project, scientist, outsider
):
    (item,) = items(project, 1)
    target = url(project, "submit")
    body = submit_body(item, [project.categories.first()])

    anonymous = post_json(client, target, body)
    client.force_login(scientist)
    forbidden = post_json(client, target, body)
    client.force_login(outsider)
    hidden = post_json(client, target, body)

    assert anonymous.status_code == 401 and anonymous.json()["code"] == "login_required"
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert not Annotation.objects.exists()


def test_post_endpoints_refuse_get(client, project, annotator):
    client.force_login(annotator)
    for name in ("next", "submit", "skip", "undo", "renew", "release"):
        assert client.get(url(project, name)).status_code == 405


def test_csrf_is_enforced_on_posts(project, annotator):
    items(project, 1)
    item = claim(project, annotator)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(annotator)
    body = submit_body(item, [project.categories.first()])

    refused = post_json(csrf_client, url(project, "submit"), body)
    assert refused.status_code == 403
    assert not Annotation.objects.exists()

    csrf_client.get(url(project))  # the page sets the csrftoken cookie
    token = csrf_client.cookies["csrftoken"].value
    accepted = csrf_client.post(
        url(project, "submit"),
        json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == 201 and Annotation.objects.count() == 1


# ---------- skip ----------


def test_skip_needs_a_reason(client, project, annotator):
    items(project, 1)
    client.force_login(annotator)
    item = claim(project, annotator)

    response = post_json(client, url(project, "skip"), {"item_id": item.pk, "reason": "  "})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Say why you skip this item.",
        "code": "skip_reason_required",
    }
    assert Assignment.objects.get(item=item).state == "active"


def test_skip_with_reason_closes_the_lease(client, project, annotator):
    items(project, 2)
    client.force_login(annotator)
    item = claim(project, annotator)

    response = post_json(
        client, url(project, "skip"), {"item_id": item.pk, "reason": "Cannot load / empty"}
    )

    assert response.status_code == 200
    lease = Assignment.objects.get(item=item)
    assert lease.state == "skipped" and lease.skip_reason == "Cannot load / empty"


# ---------- undo ----------


def test_undo_within_window_returns_the_item_prefilled(client, project, annotator):
    items(project, 2)
    client.force_login(annotator)
    item = claim(project, annotator)
    cat = project.categories.get(name="Hate")
    created = post_json(
        client,
        url(project, "submit"),
        submit_body(item, [cat], comment="<i>maybe</i>", unsure=True),
    ).json()

    response = post_json(client, url(project, "undo"), {"annotation_id": created["annotation_id"]})

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-item-id="{item.pk}"' in html and "data-undone" in html
    assert f'data-category-id="{cat.pk}" data-hotkey="4" aria-pressed="true"' in html
    assert html.count('aria-pressed="true"') == 2  # Hate and Unsure
    assert "&lt;i&gt;maybe&lt;/i&gt;</textarea>" in html
    assert not Annotation.objects.exists()
    assert LabelEvent.objects.filter(action="undo").count() == 1
    assert Assignment.objects.filter(item=item, annotator=annotator, state="active").exists()


def test_undo_after_window_is_409_and_keeps_the_label(client, project, annotator):
    items(project, 1)
    client.force_login(annotator)
    item = claim(project, annotator)
    ann = annotation_submit(
        project=project,
        annotator=annotator,
        item_id=item.pk,
        category_ids=[],
        unsure=True,
        idempotency_key="old-key-01",
    ).annotation
    Annotation.objects.filter(pk=ann.pk).update(created_at=timezone.now() - timedelta(hours=1))

    response = post_json(client, url(project, "undo"), {"annotation_id": ann.pk})

    assert response.status_code == 409
    assert response.json()["code"] == "undo_window_passed"
    assert "Undo is possible for" in response.json()["error"]
    assert Annotation.objects.filter(pk=ann.pk).exists()


def test_undo_of_someone_elses_annotation_is_404(client, project, annotator, lead):
    items(project, 1)
    item = claim(project, lead)
    ann = annotation_submit(
        project=project,
        annotator=lead,
        item_id=item.pk,
        category_ids=[],
        none_of_these=True,
        idempotency_key="lead-key-01",
    ).annotation
    client.force_login(annotator)

    response = post_json(client, url(project, "undo"), {"annotation_id": ann.pk})

    assert response.status_code == 404
    assert Annotation.objects.filter(pk=ann.pk).exists()


# ---------- renew, release, progress ----------


def test_renew_returns_the_ids_still_held(client, project, annotator):
    items(project, 3)
    client.force_login(annotator)
    first = claim(project, annotator)
    second = claim(project, annotator, exclude=[first.pk])
    Assignment.objects.filter(item=second).update(state="expired")

    response = post_json(client, url(project, "renew"), {"item_ids": [first.pk, second.pk]})

    assert response.status_code == 200 and response.json() == {"held": [first.pk]}


def test_release_gives_items_back(client, project, annotator):
    items(project, 3)
    client.force_login(annotator)
    first = claim(project, annotator)
    second = claim(project, annotator, exclude=[first.pk])

    response = post_json(client, url(project, "release"), {"item_ids": [first.pk, second.pk]})

    assert response.status_code == 200 and response.json() == {"released": 2}
    assert not Assignment.objects.filter(annotator=annotator, state="active").exists()


def test_progress_fragment_shows_counts(client, project, annotator, django_assert_num_queries):
    items(project, 4)
    client.force_login(annotator)
    for n in range(2):
        item = claim(project, annotator)
        annotation_submit(
            project=project,
            annotator=annotator,
            item_id=item.pk,
            category_ids=[],
            none_of_these=True,
            idempotency_key=f"prog-key-{n}",
        )

    with django_assert_num_queries(6):
        response = client.get(url(project, "progress"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2</strong> done today" in html
    assert "<strong>2</strong> done in total" in html
    assert "<strong>4</strong> left in queue" in html  # overlap 2: every item still needs one


def test_progress_refuses_scientists(client, project, scientist):
    client.force_login(scientist)
    assert client.get(url(project, "progress")).status_code == 403


def test_page_never_shows_another_annotators_label(client, project, annotator, lead):
    (item,) = items(project, 1)  # overlap 2: both get the same item
    claim(project, lead)
    annotation_submit(
        project=project,
        annotator=lead,
        item_id=item.pk,
        category_ids=[project.categories.first().pk],
        unsure=True,
        comment="LEAD-SECRET-NOTE",
        idempotency_key="lead-secret-1",
    )
    client.force_login(annotator)

    html = client.get(url(project)).content.decode()

    assert f'data-item-id="{item.pk}"' in html
    assert "LEAD-SECRET-NOTE" not in html
    assert 'aria-pressed="true"' not in html


def test_single_label_project_is_marked_for_the_script(client, annotator):
    project = ProjectFactory(multi_label=False)
    CategoryFactory(project=project, name="Spam", hotkey="1")
    items(project, 1)
    user = member(project)
    client.force_login(user)

    html = client.get(url(project)).content.decode()

    assert 'class="ann-item" data-item-id=' in html and 'data-multi-label="0"' in html
    assert "single-label: a category key replaces the previous choice" in html


# ---------- template filters ----------


@pytest.mark.parametrize(
    ("value", "link", "domain"),
    [
        ("https://www.example.org/a", "https://www.example.org/a", "example.org"),
        ("HTTP://Example.COM", "HTTP://Example.COM", "example.com"),
        ("javascript:alert(1)", "", ""),
        ("data:text/html,<script>", "", ""),
        ("example.net/page", "", "example.net"),
        ("http://[::1", "", ""),
        ("", "", ""),
    ],
)
def test_url_filters_only_link_http(value, link, domain):
    from annotation.templatetags.goldset import http_url, url_domain

    assert http_url(value) == link
    assert url_domain(value) == domain


def test_markdown_filter_sanitises():
    from annotation.templatetags.goldset import markdown_filter

    html = markdown_filter(
        "# Title\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> "
        '<a href="https://ok.example" onclick="x()">ok</a>\n\n| a | b |\n|---|---|\n| 1 | 2 |'
    )

    assert "<h1>Title</h1>" in html and "<table>" in html
    assert "javascript:" not in html and "onerror" not in html and "onclick" not in html
    assert 'href="https://ok.example"' in html
    assert markdown_filter("") == "" and markdown_filter(None) == ""
