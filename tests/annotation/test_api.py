"""The REST API: auth, each endpoint's happy path checked in the DB, errors, object-level
access, pagination and query counts."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Annotation, Assignment, Category, Item, LabelEvent, Project, Role
from annotation.services.annotations import annotation_submit
from annotation.services.queue import item_claim_next
from tests.factories import (
    CategoryFactory,
    ItemFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
    items,
    member,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def claim(project, user, exclude=()) -> Item:
    """A new item, leased to `user` (`exclude`: leases the user already holds)."""
    ItemFactory(project=project)
    return item_claim_next(project=project, annotator=user, exclude_item_ids=exclude).item


def submit_via_service(project, user, item, key, cats=None):
    cats = cats if cats is not None else [project.categories.first().pk]
    return annotation_submit(
        project=project, annotator=user, item_id=item.pk, category_ids=cats, idempotency_key=key
    ).annotation


# --- authentication and the error shape --------------------------------------------------------


def test_token_auth_works(project, annotator):
    response = client_for(annotator).get("/api/projects/")

    assert response.status_code == 200
    assert [p["slug"] for p in response.json()] == [project.slug]


def test_anonymous_gets_401_json(project):
    response = APIClient().get("/api/projects/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "credentials" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_bad_token_is_401(project):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/projects/")

    assert response.status_code == 401
    assert response.json()["error"] == "Invalid token."


def test_token_of_an_inactive_user_is_401(project, lead):
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=lead).key
    lead.is_active = False
    lead.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.get("/api/projects/")

    assert response.status_code == 401
    assert response.json()["error"] == "User inactive or deleted."


def test_session_auth_also_works(project, lead):
    client = APIClient()
    client.force_login(lead)

    assert client.get(f"/api/projects/{project.slug}/").status_code == 200


# --- projects ---------------------------------------------------------------------------------


def test_project_list_shows_only_my_projects_with_my_role(project, scientist):
    member(ProjectFactory(name="Zeta"), Role.ANNOTATOR)  # someone else's membership
    ProjectFactory(name="Not mine")

    data = client_for(scientist).get("/api/projects/").json()

    assert [(p["slug"], p["role"]) for p in data] == [(project.slug, "scientist")]


def test_project_list_query_count_is_constant(django_assert_num_queries, lead):
    for _ in range(5):
        MembershipFactory(user=lead, project=ProjectFactory(), role=Role.ANNOTATOR)
    client = client_for(lead)

    # token lookup + one projects query (role annotated by subquery)
    with django_assert_num_queries(2):
        response = client.get("/api/projects/")
    assert len(response.json()) == 6


def test_project_create_by_permitted_user(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_project"))

    response = client_for(user).post(
        "/api/projects/",
        {"name": "Toxic posts", "overlap": 3, "categories": ["Hate", "Violence"]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    project = Project.objects.get(slug="toxic-posts")
    assert response.json()["role"] == "lead" and response.json()["overlap"] == 3
    assert project.memberships.get().user == user and project.memberships.get().role == "lead"
    assert list(project.categories.values_list("name", "hotkey")) == [
        ("Hate", "1"),
        ("Violence", "2"),
    ]


def test_project_create_without_permission_is_403_and_creates_nothing(project, lead):
    response = client_for(lead).post("/api/projects/", {"name": "Mine now"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == "You may not create projects."
    assert not Project.objects.filter(name="Mine now").exists()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "X", "overlap": 0}, 400, "Overlap must be between 1 and 10"),
        ({"name": "X", "lease_minutes": 999}, 400, "between 1 and 240 minutes"),
        ({"name": "   "}, 400, "A project needs a name."),
        ({"name": "X", "overlap": "many"}, 400, "overlap: A valid integer is required."),
        ({"overlap": 2}, 400, "name: This field is required."),
    ],
)
def test_project_create_bad_input_is_400_and_creates_nothing(db, body, status, message):
    admin = UserFactory(is_superuser=True)
    before = Project.objects.count()

    response = client_for(admin).post("/api/projects/", body, format="json")

    assert response.status_code == status
    assert message in response.json()["error"]
    assert Project.objects.count() == before


def test_project_create_duplicate_slug_is_409(project):
    admin = UserFactory(is_superuser=True)

    response = client_for(admin).post(
        "/api/projects/", {"name": "Other", "slug": project.slug}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": f"A project with the address '{project.slug}' already exists.",
        "code": "conflict",
    }
    assert Project.objects.filter(slug=project.slug).count() == 1


def test_project_detail_for_any_member(project, annotator):
    data = client_for(annotator).get(f"/api/projects/{project.slug}/").json()

    assert data["slug"] == project.slug and data["role"] == "annotator"
    assert data["guidelines"] == project.guidelines


def test_project_patch_by_lead_updates_and_recounts(project, lead):
    item = ItemFactory(project=project)

    response = client_for(lead).patch(
        f"/api/projects/{project.slug}/", {"overlap": 3, "guidelines": "New"}, format="json"
    )

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.overlap == 3 and project.guidelines_version == 2
    assert Item.objects.get(pk=item.pk).open_slots == 3


def test_project_patch_bad_overlap_changes_nothing(project, lead):
    response = client_for(lead).patch(
        f"/api/projects/{project.slug}/", {"overlap": 11, "name": "Renamed"}, format="json"
    )

    assert response.status_code == 400
    assert "Overlap must be between 1 and 10" in response.json()["error"]
    project.refresh_from_db()
    assert project.overlap == 2 and project.name != "Renamed"


def test_project_patch_sets_consolidation_settings(project, lead):
    body = {"overlap": 3, "consolidation_rule": "majority", "gold_question_rate": 0.1}

    response = client_for(lead).patch(f"/api/projects/{project.slug}/", body, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["consolidation_rule"] == "majority" and data["gold_question_rate"] == 0.1
    project.refresh_from_db()
    assert (project.overlap, project.consolidation_rule) == (3, "majority")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"consolidation_rule": "majority"}, "k ≥ 3"),  # overlap stays 2
        ({"overlap": 3, "adaptive_overlap": True}, "overlap"),
        ({"gold_question_rate": 0.9}, "0 to 0.5"),
    ],
)
def test_project_patch_bad_consolidation_settings_change_nothing(project, lead, body, message):
    response = client_for(lead).patch(f"/api/projects/{project.slug}/", body, format="json")

    assert response.status_code == 400
    assert message in response.json()["error"]
    project.refresh_from_db()
    assert (project.overlap, project.consolidation_rule) == (2, "unanimous")
    assert not project.adaptive_overlap and project.gold_question_rate == 0


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.SCIENTIST])
def test_project_patch_by_non_lead_is_403(project, role):
    user = member(project, role)

    response = client_for(user).patch(
        f"/api/projects/{project.slug}/", {"name": "Hijacked"}, format="json"
    )

    assert response.status_code == 403
    assert "can_manage" in response.json()["error"]
    assert Project.objects.get(pk=project.pk).name != "Hijacked"


def test_unknown_or_foreign_project_is_404(project, outsider):
    client = client_for(outsider)

    for url in (f"/api/projects/{project.slug}/", "/api/projects/no-such-project/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


# --- categories ---------------------------------------------------------------------------------


def test_categories_list_members_see_active_leads_see_all(project, annotator, lead):
    hidden = project.categories.get(name="Hate")
    hidden.active = False
    hidden.save()

    mine = client_for(annotator).get(f"/api/projects/{project.slug}/categories/").json()
    leads = client_for(lead).get(f"/api/projects/{project.slug}/categories/").json()

    assert "Hate" not in [c["name"] for c in mine] and len(mine) == 4
    assert [c["name"] for c in leads] == [
        "Adult Content", "Violence", "Self-Harm", "Hate", "Social Media",
    ]  # fmt: skip
    assert {"id", "name", "hotkey", "sensitive", "active", "order"} <= set(leads[0])


def test_category_create_and_update_by_lead(project, lead):
    client = client_for(lead)
    url = f"/api/projects/{project.slug}/categories/"

    created = client.post(url, {"name": "Spam", "hotkey": "K"}, format="json")
    assert created.status_code == 201
    cat = Category.objects.get(project=project, name="Spam")
    assert cat.hotkey == "k"

    updated = client.patch(
        f"{url}{cat.pk}/", {"sensitive": True, "name": "Spam ads"}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Spam ads"
    cat.refresh_from_db()
    assert cat.sensitive and cat.name == "Spam ads"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "Spam", "hotkey": "s"}, 400, "reserved"),
        ({"name": "Spam", "hotkey": "1"}, 409, "Hotkey '1' is already used"),
        ({"name": "Hate"}, 409, "already exists"),
        ({"name": ""}, 400, "A category needs a name."),
    ],
)
def test_category_create_bad_input_stores_nothing(project, lead, body, status, message):
    before = Category.objects.count()

    response = client_for(lead).post(
        f"/api/projects/{project.slug}/categories/", body, format="json"
    )

    assert response.status_code == status
    assert message in response.json()["error"]
    assert Category.objects.count() == before


def test_category_of_another_project_is_404(project, lead):
    foreign = CategoryFactory(project=ProjectFactory(), name="Foreign")

    response = client_for(lead).patch(
        f"/api/projects/{project.slug}/categories/{foreign.pk}/", {"name": "Mine"}, format="json"
    )

    assert response.status_code == 404
    assert Category.objects.get(pk=foreign.pk).name == "Foreign"


def test_category_create_by_annotator_is_403(project, annotator):
    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/categories/", {"name": "Spam"}, format="json"
    )

    assert response.status_code == 403
    assert not Category.objects.filter(name="Spam").exists()


# --- items --------------------------------------------------------------------------------------


def _items_in_three_states(project):
    unlabeled, in_progress, complete = items(project, 3)
    Item.objects.filter(pk=in_progress.pk).update(annotation_count=1)
    Item.objects.filter(pk=complete.pk).update(annotation_count=2)
    return unlabeled, in_progress, complete


@pytest.mark.parametrize("state", ["unlabeled", "in_progress", "complete"])
def test_items_filter_by_state(project, lead, state):
    states = ["unlabeled", "in_progress", "complete"]
    by_state = dict(zip(states, _items_in_three_states(project), strict=True))

    data = client_for(lead).get(f"/api/projects/{project.slug}/items/?state={state}").json()

    assert [i["id"] for i in data["results"]] == [by_state[state].pk]
    assert data["results"][0]["state"] == state


def test_items_filter_by_external_id_and_import_job(project, scientist):
    wanted, _ = items(project, 2)
    client = client_for(scientist)
    url = f"/api/projects/{project.slug}/items/"

    by_id = client.get(url, {"external_id": wanted.external_id}).json()["results"]
    by_job = client.get(url, {"import_job": 999}).json()["results"]

    assert [i["id"] for i in by_id] == [wanted.pk]
    assert by_job == []


def test_items_bad_filter_is_400(project, lead):
    response = client_for(lead).get(f"/api/projects/{project.slug}/items/?state=done")

    assert response.status_code == 400
    assert response.json()["error"].startswith("state:")
    assert "fields" in response.json()


def test_items_cursor_pagination_walks_every_item_once(project, lead):
    made = items(project, 7)
    client = client_for(lead)

    page = client.get(f"/api/projects/{project.slug}/items/?page_size=3").json()
    assert set(page) == {"next", "previous", "results"} and page["previous"] is None
    seen = [i["id"] for i in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [i["id"] for i in page["results"]]

    assert seen == sorted(i.pk for i in made)


def test_items_list_has_no_labels_and_escapes_nothing_itself(project, lead):
    ItemFactory(project=project, text="<script>alert(1)</script>")

    item = client_for(lead).get(f"/api/projects/{project.slug}/items/").json()["results"][0]

    assert item["text"] == "<script>alert(1)</script>"  # JSON is data; pages escape it
    assert "annotations" not in item and "categories" not in item


@pytest.mark.parametrize("n", [2, 20])
def test_items_list_query_count_is_constant(django_assert_num_queries, project, lead, n):
    items(project, n)
    client = client_for(lead)

    # token, project, membership, one page of items
    with django_assert_num_queries(3):
        response = client.get(f"/api/projects/{project.slug}/items/")
    assert len(response.json()["results"]) == n


def test_items_list_is_403_for_annotators(project, annotator):
    items(project, 1)

    response = client_for(annotator).get(f"/api/projects/{project.slug}/items/")

    assert response.status_code == 403
    assert "can_read_all" in response.json()["error"]


# --- the queue ----------------------------------------------------------------------------------


def test_next_leases_an_item_and_shows_only_content(project, annotator):
    item = ItemFactory(project=project, url="https://Example.org/a?b=1", title="T")
    other = member(project)
    submit_via_service(project, other, claim(project, other), "other-key-1")

    response = client_for(annotator).post(f"/api/projects/{project.slug}/next/", format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"item", "lease_expires_at"}
    assert body["item"] == {
        "id": item.pk, "external_id": item.external_id, "text": item.text,
        "url": "https://Example.org/a?b=1", "domain": "example.org", "title": "T", "metadata": {},
    }  # fmt: skip
    lease = Assignment.objects.get(item=item, annotator=annotator)
    assert lease.state == "active"


def test_next_with_exclude_gives_another_item(project, annotator):
    first, second = items(project, 2)
    client = client_for(annotator)
    url = f"/api/projects/{project.slug}/next/"

    a = client.post(url, format="json").json()["item"]["id"]
    b = client.post(url, {"exclude": [a]}, format="json").json()["item"]["id"]

    assert {a, b} == {first.pk, second.pk}


def test_next_is_204_when_nothing_is_left(project, annotator):
    response = client_for(annotator).post(f"/api/projects/{project.slug}/next/", format="json")

    assert response.status_code == 204
    assert response.content == b""


def test_next_lease_limit_is_409(project, annotator):
    items(project, 5)
    client = client_for(annotator)
    url = f"/api/projects/{project.slug}/next/"
    held = []
    for _ in range(3):
        held.append(client.post(url, {"exclude": held}, format="json").json()["item"]["id"])

    response = client.post(url, {"exclude": held}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "lease_limit"
    assert Assignment.objects.filter(annotator=annotator).count() == 3


def test_scientist_cannot_claim_or_submit(project, scientist):
    item = ItemFactory(project=project)
    client = client_for(scientist)

    claimed = client.post(f"/api/projects/{project.slug}/next/", format="json")
    submitted = client.post(
        f"/api/projects/{project.slug}/items/{item.pk}/submit/",
        {"none_of_these": True, "idempotency_key": "sci-key-123"},
        format="json",
    )

    assert claimed.status_code == 403 and submitted.status_code == 403
    assert not Assignment.objects.exists() and not Annotation.objects.exists()


def test_annotator_of_another_project_cannot_claim_or_submit(project, annotator):
    other_project = ProjectFactory()
    item = ItemFactory(project=other_project)
    client = client_for(annotator)

    claimed = client.post(f"/api/projects/{other_project.slug}/next/", format="json")
    submitted = client.post(
        f"/api/projects/{other_project.slug}/items/{item.pk}/submit/",
        {"none_of_these": True, "idempotency_key": "cross-key-1"},
        format="json",
    )

    assert claimed.status_code == 404 and submitted.status_code == 404
    assert not Assignment.objects.exists() and not Annotation.objects.exists()


def test_submit_item_of_another_project_through_my_project_is_404(project, annotator):
    foreign = ItemFactory(project=ProjectFactory())

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{foreign.pk}/submit/",
        {"none_of_these": True, "idempotency_key": "foreign-key-1"},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"error": "No such item in this project.", "code": "not_found"}
    assert not Annotation.objects.exists()


def test_submit_stores_the_label(project, annotator):
    item = claim(project, annotator)
    cats = list(project.categories.order_by("id")[:2])

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/submit/",
        {
            "categories": [c.pk for c in cats],
            "comment": "both",
            "time_spent_ms": 1500,
            "idempotency_key": "submit-key-1",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["categories"] == [{"id": c.pk, "name": c.name} for c in cats]
    assert body["item"] == item.pk and body["project"] == project.slug
    annotation = Annotation.objects.get()
    assert annotation.annotator == annotator and annotation.comment == "both"
    assert sorted(annotation.categories.values_list("pk", flat=True)) == [c.pk for c in cats]
    assert Assignment.objects.get(item=item).state == "submitted"


def test_submit_twice_with_same_key_is_one_annotation(project, annotator):
    item = claim(project, annotator)
    client = client_for(annotator)
    url = f"/api/projects/{project.slug}/items/{item.pk}/submit/"
    body = {"categories": [project.categories.first().pk], "idempotency_key": "same-key-42"}

    first = client.post(url, body, format="json")
    second = client.post(url, body, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Annotation.objects.count() == 1 and LabelEvent.objects.count() == 1
    assert Item.objects.get(pk=item.pk).annotation_count == 1


def test_submit_key_in_header(project, annotator):
    item = claim(project, annotator)
    client = client_for(annotator)
    url = f"/api/projects/{project.slug}/items/{item.pk}/submit/"

    first = client.post(url, {"unsure": True}, format="json", HTTP_IDEMPOTENCY_KEY="header-key-1")
    second = client.post(url, {"unsure": True}, format="json", HTTP_IDEMPOTENCY_KEY="header-key-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert Annotation.objects.get().idempotency_key == "header-key-1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"idempotency_key": "valid-key-1"}, "Choose at least one category"),
        ({"categories": [999999], "idempotency_key": "valid-key-1"}, "Unknown or inactive"),
        ({"none_of_these": True}, "idempotency_key must be"),
        ({"none_of_these": True, "idempotency_key": "bad key!"}, "idempotency_key must be"),
        ({"categories": "1", "idempotency_key": "valid-key-1"}, "categories:"),
        (
            {"none_of_these": True, "time_spent_ms": -5, "idempotency_key": "valid-key-1"},
            "time_spent_ms:",
        ),
    ],
)
def test_submit_bad_input_is_400_and_stores_nothing(project, annotator, body, message):
    item = claim(project, annotator)

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/submit/", body, format="json"
    )

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(item=item).state == "active"  # still held: nothing lost


def test_submit_again_with_new_key_is_409(project, annotator):
    item = claim(project, annotator)
    submit_via_service(project, annotator, item, "first-key-1")

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/submit/",
        {"none_of_these": True, "idempotency_key": "second-key-1"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {"error": "You already labeled this item.", "code": "already_labeled"}
    assert Annotation.objects.count() == 1


def test_submit_unassigned_item_is_409(project, annotator):
    item = ItemFactory(project=project)

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/submit/",
        {"none_of_these": True, "idempotency_key": "never-key-1"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_assigned"
    assert not Annotation.objects.exists()


def test_skip_closes_the_lease_with_reason(project, annotator):
    item = claim(project, annotator)

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/skip/",
        {"reason": "Not English"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"item": item.pk, "state": "skipped", "skip_reason": "Not English"}
    lease = Assignment.objects.get(item=item)
    assert lease.state == "skipped" and lease.skip_reason == "Not English"


def test_skip_without_reason_is_400_and_keeps_the_lease(project, annotator):
    item = claim(project, annotator)

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/skip/", {"reason": "  "}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "Say why you skip this item.",
        "code": "skip_reason_required",
    }
    assert Assignment.objects.get(item=item).state == "active"


def test_skip_an_item_not_held_is_404(project, annotator):
    item = ItemFactory(project=project)

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/items/{item.pk}/skip/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "no_lease"


def test_release_and_renew(project, annotator):
    client = client_for(annotator)
    a = claim(project, annotator)
    b = claim(project, annotator, exclude=(a.pk,))

    renewed = client.post(
        f"/api/projects/{project.slug}/renew/", {"items": [a.pk, b.pk, 999999]}, format="json"
    )
    released = client.post(
        f"/api/projects/{project.slug}/release/", {"items": [a.pk, 999999]}, format="json"
    )
    renewed_after = client.post(
        f"/api/projects/{project.slug}/renew/", {"items": [a.pk, b.pk]}, format="json"
    )

    assert renewed.json() == {"held": sorted([a.pk, b.pk])}
    assert released.json() == {"released": 1}
    assert renewed_after.json() == {"held": [b.pk]}
    assert Assignment.objects.get(item=a).state == "released"
    assert Item.objects.get(pk=a.pk).open_slots == 2


def test_release_needs_a_list(project, annotator):
    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/release/", {"items": "all"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith("items:")


def test_undo_gives_the_item_back(project, annotator):
    item = claim(project, annotator)
    annotation = submit_via_service(project, annotator, item, "undo-key-11")

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/annotations/{annotation.pk}/undo/", format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["item"]["id"] == item.pk
    assert body["previous"]["categories"] == [project.categories.first().pk]
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(item=item, state="active").annotator == annotator


def test_undo_someone_elses_annotation_is_404(project, annotator):
    other = member(project)
    item = claim(project, other)
    annotation = submit_via_service(project, other, item, "others-key-1")

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/annotations/{annotation.pk}/undo/", format="json"
    )

    assert response.status_code == 404
    assert Annotation.objects.filter(pk=annotation.pk).exists()


def test_undo_after_the_window_is_409(project, annotator, settings):
    settings.GOLDSET = {**settings.GOLDSET, "UNDO_WINDOW_SECONDS": 0}
    item = claim(project, annotator)
    annotation = submit_via_service(project, annotator, item, "late-undo-1")

    response = client_for(annotator).post(
        f"/api/projects/{project.slug}/annotations/{annotation.pk}/undo/", format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "undo_window_passed"
    assert Annotation.objects.filter(pk=annotation.pk).exists()


def test_lead_can_annotate(project, lead):
    ItemFactory(project=project)
    client = client_for(lead)

    item_id = client.post(f"/api/projects/{project.slug}/next/", format="json").json()["item"]["id"]
    response = client.post(
        f"/api/projects/{project.slug}/items/{item_id}/submit/",
        {"none_of_these": True, "idempotency_key": "lead-key-01"},
        format="json",
    )

    assert response.status_code == 201
    assert Annotation.objects.get().annotator == lead


# --- my annotations -----------------------------------------------------------------------------


def _label_n(project, user, n, prefix):
    """n new items, each claimed and labeled by `user` with the project's first two categories."""
    cats = [c.pk for c in project.categories.order_by("id")[:2]]
    return [
        submit_via_service(project, user, claim(project, user), f"{prefix}-key-{i:04d}", cats)
        for i in range(n)
    ]


def test_mine_lists_only_my_annotations_with_category_names(project, annotator):
    other_user = member(project)
    mine = _label_n(project, annotator, 2, "mine")
    _label_n(project, other_user, 1, "theirs")

    data = client_for(annotator).get("/api/annotations/mine/").json()

    assert set(data) == {"next", "previous", "results"}
    assert sorted(a["id"] for a in data["results"]) == sorted(a.pk for a in mine)
    cats = list(project.categories.order_by("id")[:2])
    assert data["results"][0]["categories"] == [{"id": c.pk, "name": c.name} for c in cats]


def test_mine_filters_by_project(project, annotator):
    other = ProjectFactory()
    CategoryFactory(project=other)
    MembershipFactory(user=annotator, project=other, role=Role.ANNOTATOR)
    _label_n(project, annotator, 1, "p1")
    there = _label_n(other, annotator, 1, "p2")
    client = client_for(annotator)

    filtered = client.get("/api/annotations/mine/", {"project": other.slug}).json()["results"]
    everything = client.get("/api/annotations/mine/").json()["results"]
    foreign = client.get("/api/annotations/mine/", {"project": ProjectFactory().slug})

    assert [a["id"] for a in filtered] == [there[0].pk]
    assert {a["project"] for a in everything} == {project.slug, other.slug}
    assert foreign.status_code == 404


@pytest.mark.parametrize("n", [1, 6])
def test_mine_query_count_is_constant(django_assert_num_queries, project, annotator, n):
    _label_n(project, annotator, n, "q")
    client = client_for(annotator)

    # token, annotations with item and project joined, prefetch of categories
    with django_assert_num_queries(3):
        response = client.get("/api/annotations/mine/")
    assert len(response.json()["results"]) == n


# --- schema and docs ----------------------------------------------------------------------------


def test_schema_lists_the_main_paths(project, lead):
    response = client_for(lead).get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/projects/:", "/api/projects/{slug}/items/:", "/api/projects/{slug}/next/:",
        "/api/projects/{slug}/items/{item_id}/submit/:", "/api/annotations/mine/:",
        "/api/projects/{slug}/items/import/:",
    ):  # fmt: skip
        assert path in text


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_need_a_signed_in_user_or_a_token(path, annotator):
    assert APIClient().get(path).status_code in (401, 403)
    token_client = client_for(annotator)  # Token auth, the way API clients read the schema
    assert token_client.get(path).status_code == 200


def test_docs_page_uses_only_local_static_files(project, lead):
    client = APIClient()
    client.force_login(lead)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "http://" not in html and "https://" not in html
