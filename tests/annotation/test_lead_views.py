"""Lead and scientist pages: access per role, the create/edit flows, bad input, escaping and
query counts."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from annotation.models import Category, ImportJob, Item, Membership, Project, Role
from tests.factories import CategoryFactory, ItemFactory, UserFactory, annotate, items, member

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

READ_PAGES = ["dashboard", "items"]
MANAGE_PAGES = ["project-settings", "categories", "members"]
ALL_PAGES = READ_PAGES + MANAGE_PAGES


def url(name, project):
    return reverse(name, args=[project.slug])


def login(client, user):
    client.force_login(user)
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# --- access per role ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_anonymous_is_sent_to_login(client, project, page):
    response = client.get(url(page, project))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("page", ALL_PAGES)
def test_outsider_gets_404(client, project, outsider, page):
    assert login(client, outsider).get(url(page, project)).status_code == 404


def test_unknown_project_is_404(client, lead):
    assert login(client, lead).get("/p/nope/").status_code == 404


@pytest.mark.parametrize("page", ALL_PAGES)
def test_annotator_gets_403(client, project, annotator, page):
    assert login(client, annotator).get(url(page, project)).status_code == 403


@pytest.mark.parametrize("page", READ_PAGES)
def test_scientist_reads(client, project, scientist, page):
    response = login(client, scientist).get(url(page, project))
    assert response.status_code == 200
    assert response.context["project"] == project and response.context["access"].can_read_all


@pytest.mark.parametrize("page", MANAGE_PAGES)
def test_scientist_cannot_manage(client, project, scientist, page):
    assert login(client, scientist).get(url(page, project)).status_code == 403


@pytest.mark.parametrize(
    "page,data",
    [
        ("project-settings", {"name": "Taken over", "overlap": 3, "lease_minutes": 10}),
        ("categories", {"action": "add", "name": "Spam"}),
        ("members", {"action": "add", "username": "x", "role": "lead"}),
    ],
)
@pytest.mark.parametrize("role", [Role.SCIENTIST, Role.ANNOTATOR])
def test_non_leads_cannot_write(client, project, page, data, role):
    UserFactory(username="x")
    user = member(project, role)
    response = login(client, user).post(url(page, project), data)
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name != "Taken over" and project.overlap == 2
    assert not Category.objects.filter(name="Spam").exists()
    assert not Membership.objects.filter(user__username="x").exists()


@pytest.mark.parametrize("page", ALL_PAGES)
def test_lead_sees_every_page(client, project, lead, page):
    response = login(client, lead).get(url(page, project))
    assert response.status_code == 200 and response.context["access"].can_manage


def test_superuser_without_membership_acts_as_lead(client, project):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    for page in ALL_PAGES:
        assert login(client, admin).get(url(page, project)).status_code == 200


# --- create project -------------------------------------------------------------------------


def test_create_page_needs_the_permission(client):
    assert client.get(reverse("project-create")).status_code == 302
    plain = UserFactory()
    assert login(client, plain).get(reverse("project-create")).status_code == 403
    assert login(client, plain).post(reverse("project-create"), {"name": "X"}).status_code == 403
    assert not Project.objects.exists()


def creator():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_project"))
    return user


def project_data(**extra):
    return {
        "name": "Web pages",
        "slug": "",
        "description": "Crawled pages",
        "guidelines": "# Rules",
        "multi_label": "on",
        "overlap": "3",
        "lease_minutes": "15",
        "category_names": "Adult Content\nViolence\n\nSelf-Harm\n",
        **extra,
    }


def test_create_project_flow(client):
    user = creator()
    response = login(client, user).post(reverse("project-create"), project_data())

    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == url("dashboard", project)
    assert (project.slug, project.overlap, project.lease_minutes, project.multi_label) == (
        "web-pages",
        3,
        15,
        True,
    )
    assert Membership.objects.get(project=project).user == user
    assert list(project.categories.order_by("order").values_list("name", "hotkey")) == [
        ("Adult Content", "1"),
        ("Violence", "2"),
        ("Self-Harm", "3"),
    ]
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"overlap": "0"}, "Overlap must be between 1 and 10"),
        ({"overlap": "11"}, "Overlap must be between 1 and 10"),
        ({"overlap": "two"}, "Overlap"),
        ({"name": ""}, "Name"),
        ({"category_names": "A\nA"}, "'A' is listed twice"),
    ],
)
def test_create_project_bad_input_shows_message_and_creates_nothing(client, extra, message):
    response = login(client, creator()).post(reverse("project-create"), project_data(**extra))
    assert response.status_code == 200
    assert any(message in m for m in messages_of(response))
    assert not Project.objects.exists() and not Category.objects.exists()
    assert response.context["form"].data["description"] == "Crawled pages"  # input kept


def test_create_preview_renders_sanitised_markdown(client):
    response = login(client, creator()).post(
        reverse("project-create"),
        {"action": "preview", "guidelines": f"**Bold** {HOSTILE} [x](javascript:alert(1))"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<strong>Bold</strong>" in body
    assert "<script>" not in body and "javascript:" not in body
    assert not Project.objects.exists()


# --- settings -------------------------------------------------------------------------------


def settings_data(project, **extra):
    return {
        "name": project.name,
        "description": project.description,
        "guidelines": project.guidelines,
        "multi_label": "on",
        "overlap": str(project.overlap),
        "lease_minutes": str(project.lease_minutes),
        **extra,
    }


def test_settings_change_overlap_recounts_slots(client, project, lead):
    (item,) = items(project, 1)
    response = login(client, lead).post(
        url("project-settings", project), settings_data(project, overlap="4", name="Renamed")
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.overlap == 4 and project.name == "Renamed"
    assert Item.objects.get(pk=item.pk).open_slots == 4
    assert "Settings saved." in messages_of(client.get(response["Location"]))


@pytest.mark.parametrize("overlap", ["0", "11"])
def test_settings_bad_overlap_changes_nothing(client, project, lead, overlap):
    (item,) = items(project, 1)
    response = login(client, lead).post(
        url("project-settings", project), settings_data(project, overlap=overlap, name="Renamed")
    )
    assert response.status_code == 200
    assert any("Overlap must be between 1 and 10" in m for m in messages_of(response))
    project.refresh_from_db()
    assert project.overlap == 2 and project.name != "Renamed"
    assert Item.objects.get(pk=item.pk).open_slots == 2


def test_settings_preview_is_lead_only(client, project, lead, scientist):
    data = {"action": "preview", "guidelines": "_hi_"}
    assert login(client, scientist).post(url("project-settings", project), data).status_code == 403
    response = login(client, lead).post(url("project-settings", project), data)
    assert "<em>hi</em>" in response.content.decode()


# --- categories -----------------------------------------------------------------------------


def test_add_category(client, project, lead):
    response = login(client, lead).post(
        url("categories", project),
        {"action": "add", "name": "Spam", "description": "Ads", "sensitive": "on"},
    )
    assert response.status_code == 302
    spam = Category.objects.get(project=project, name="Spam")
    assert (spam.hotkey, spam.order, spam.sensitive, spam.description) == ("6", 5, True, "Ads")


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": "Spam", "hotkey": "1"}, "Hotkey '1' is already used by 'Adult Content'"),
        ({"name": "Spam", "hotkey": "u"}, "'u' is reserved on the annotate page"),
        ({"name": "Spam", "hotkey": "?"}, "'?' is reserved on the annotate page"),
        ({"name": "Violence", "hotkey": "x"}, "named 'Violence' already exists"),
        ({"name": ""}, "Name"),
    ],
)
def test_add_category_bad_input(client, project, lead, data, message):
    response = login(client, lead).post(url("categories", project), {"action": "add", **data})
    assert response.status_code == 200
    assert any(message in m for m in messages_of(response))
    assert Category.objects.filter(project=project).count() == 5


def row(category, **extra):
    data = {
        "action": "update",
        "category_id": category.pk,
        "name": category.name,
        "description": category.description,
        "hotkey": category.hotkey,
        "order": category.order,
    }
    if category.sensitive:
        data["sensitive"] = "on"
    if category.active:
        data["active"] = "on"
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_update_category_row(client, project, lead):
    hate = Category.objects.get(project=project, name="Hate")
    response = login(client, lead).post(
        url("categories", project),
        row(hate, name="Hate speech", hotkey="h", order=7, sensitive="on", active=None),
    )
    assert response.status_code == 302
    hate.refresh_from_db()
    assert (hate.name, hate.hotkey, hate.order, hate.sensitive, hate.active) == (
        "Hate speech",
        "h",
        7,
        True,
        False,
    )


def test_update_category_duplicate_hotkey_changes_nothing(client, project, lead):
    hate = Category.objects.get(project=project, name="Hate")
    response = login(client, lead).post(
        url("categories", project), row(hate, name="Renamed", hotkey="2")
    )
    assert any("already used by 'Violence'" in m for m in messages_of(response))
    hate.refresh_from_db()
    assert (hate.name, hate.hotkey) == ("Hate", "4")


def test_update_category_of_another_project_is_refused(client, project, lead):
    foreign = CategoryFactory(name="Foreign")
    response = login(client, lead).post(
        url("categories", project), row(foreign, name="Hijacked", hotkey="x")
    )
    assert any("No such category" in m for m in messages_of(response))
    foreign.refresh_from_db()
    assert foreign.name == "Foreign"


# --- members --------------------------------------------------------------------------------


def test_add_change_and_remove_member(client, project, lead):
    newbie = UserFactory(username="newbie")
    login(client, lead)
    response = client.post(
        url("members", project), {"action": "add", "username": "newbie", "role": "annotator"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=newbie)
    assert membership.role == Role.ANNOTATOR

    client.post(url("members", project), {"action": "role", "username": "newbie", "role": "lead"})
    membership.refresh_from_db()
    assert membership.role == Role.LEAD

    client.post(url("members", project), {"action": "remove", "membership_id": membership.pk})
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_add_unknown_username_shows_message(client, project, lead):
    response = login(client, lead).post(
        url("members", project), {"action": "add", "username": "ghost", "role": "annotator"}
    )
    assert response.status_code == 200
    assert "No user named 'ghost'." in messages_of(response)
    assert Membership.objects.filter(project=project).count() == 1


def test_last_lead_cannot_be_removed_or_demoted(client, project, lead):
    mine = Membership.objects.get(project=project, user=lead)
    login(client, lead)
    response = client.post(url("members", project), {"action": "remove", "membership_id": mine.pk})
    assert any("keeps at least one lead" in m for m in messages_of(response))
    response = client.post(
        url("members", project), {"action": "role", "username": lead.username, "role": "annotator"}
    )
    assert any("only lead" in m for m in messages_of(response))
    mine.refresh_from_db()
    assert mine.role == Role.LEAD


def test_remove_with_garbage_id_is_a_message(client, project, lead):
    response = login(client, lead).post(
        url("members", project), {"action": "remove", "membership_id": "abc"}
    )
    assert "No such member." in messages_of(response)
    assert Membership.objects.filter(project=project).count() == 1


# --- hostile strings ------------------------------------------------------------------------


def test_hostile_strings_are_escaped_on_every_page(client):
    project = Project.objects.create(name=HOSTILE, slug="hostile", description=HOSTILE)
    CategoryFactory(project=project, name=HOSTILE, description=HOSTILE, hotkey="1")
    lead_user = member(project, Role.LEAD, username=f"lead{HOSTILE}")
    evil = member(project, Role.ANNOTATOR, username=HOSTILE)
    item = ItemFactory(project=project, text=HOSTILE, title=HOSTILE, external_id=HOSTILE)
    annotate(item, evil, [project.categories.get()])
    ImportJob.objects.create(
        project=project, original_name=HOSTILE, file_sha256="x", format="csv", status="done"
    )
    login(client, lead_user)
    for page in ALL_PAGES:
        body = client.get(url(page, project)).content.decode()
        assert HOSTILE not in body, page
        assert ESCAPED in body or "\\u003Cscript\\u003E" in body, page
    dashboard = client.get(url("dashboard", project)).content.decode()
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in dashboard  # json_script data


def test_hostile_username_in_error_message_is_escaped(client, project, lead):
    response = login(client, lead).post(
        url("members", project), {"action": "add", "username": HOSTILE, "role": "annotator"}
    )
    body = response.content.decode()
    assert HOSTILE not in body and ESCAPED in body


# --- items list -----------------------------------------------------------------------------


def test_items_list_shows_counts_and_filters(client, project, scientist):
    alice = UserFactory(username="alice-the-annotator")
    unlabeled, partial, done = items(project, 3)
    annotate(partial, alice, [project.categories.first()])
    annotate(done, alice, [project.categories.first()])
    annotate(done, UserFactory(), none=True)
    login(client, scientist)

    body = client.get(url("items", project)).content.decode()
    assert all(i.external_id in body for i in (unlabeled, partial, done))
    assert "1/2" in body and "2/2" in body and "0/2" in body
    assert "alice-the-annotator" not in body  # counts, not who labeled what

    response = client.get(url("items", project), {"state": "complete"})
    assert [i.pk for i in response.context["page"].items] == [done.pk]
    response = client.get(url("items", project), {"q": partial.external_id})
    assert [i.pk for i in response.context["page"].items] == [partial.pk]


def test_items_list_next_page_link(client, project, lead):
    created = items(project, 52)
    login(client, lead)
    response = client.get(url("items", project), {"state": "all"})
    assert len(response.context["page"].items) == 50
    assert f"after={created[49].pk}" in response.context["next_query"]
    response = client.get(url("items", project) + "?" + response.context["next_query"])
    assert [i.pk for i in response.context["page"].items] == [created[50].pk, created[51].pk]
    assert response.context["next_query"] is None


def test_items_list_bad_filter_shows_message(client, project, lead):
    items(project, 2)
    response = login(client, lead).get(url("items", project), {"state": "bogus"})
    assert response.status_code == 200 and messages_of(response)
    assert len(response.context["page"].items) == 2


def test_items_list_query_count_does_not_grow(client, project, lead, django_assert_num_queries):
    items(project, 3)
    login(client, lead)
    client.get(url("items", project))  # warm the session
    with django_assert_num_queries(5) as small:
        client.get(url("items", project))
    items(project, 40)
    for _ in range(3):
        ImportJob.objects.create(
            project=project, original_name="f.csv", file_sha256="x", format="csv"
        )
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url("items", project))


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_shows_figures_and_chart_data(client, project, scientist):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    unlabeled, partial, done = items(project, 3)
    adult = Category.objects.get(project=project, name="Adult Content")
    annotate(partial, alice, [adult], when=timezone.now() - timedelta(days=1))
    annotate(done, alice, [adult])
    annotate(done, bob, unsure=True, none=True)
    ImportJob.objects.create(
        project=project, original_name="pages.csv", file_sha256="x", format="csv", status="failed"
    )

    response = login(client, scientist).get(url("dashboard", project))
    stats = response.context["stats"]
    assert (stats.states.total, stats.states.complete, stats.states.in_progress) == (3, 1, 1)
    assert stats.states.unlabeled == 1 and stats.states.annotations == 3
    assert stats.active_today == 2
    body = response.content.decode()
    assert 'id="dashboard-data"' in body and "chart-4.6.1.umd.min.js" in body
    assert "pages.csv" in body and "Failed" in body
    assert "As of" in body
    # the accessible tables carry the numbers
    assert '<th scope="row">Adult Content</th><td class="num">2</td>' in body


def test_dashboard_query_count_independent_of_data(
    client, project, lead, django_assert_num_queries
):
    (item,) = items(project, 1)
    annotate(item, UserFactory(), [project.categories.first()])
    login(client, lead)
    client.get(url("dashboard", project))
    cache.clear()
    # 9 for progress + 1 adjudication backlog + 2 agreement snapshot reads (newest done, newer)
    with django_assert_num_queries(12) as small:
        client.get(url("dashboard", project))

    for n in range(4):
        CategoryFactory(project=project, name=f"Extra {n}", hotkey="abcd"[n])
    annotators = [UserFactory() for _ in range(5)]
    for i, it in enumerate(items(project, 20)):
        annotate(
            it,
            annotators[i % 5],
            [project.categories.first()],
            when=timezone.now() - timedelta(days=i % 7),
        )
    cache.clear()
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url("dashboard", project))


def test_dashboard_is_cached(client, project, lead):
    login(client, lead)
    client.get(url("dashboard", project))
    items(project, 2)
    response = client.get(url("dashboard", project))
    assert response.context["stats"].states.total == 0  # cached figure, "as of" shown
