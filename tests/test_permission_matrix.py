"""Who may reach what: one parametrised test over (role × every page and API endpoint).

Rules (see annotation/permissions.py):
- anonymous: pages redirect to the login page; the API and the annotate page's XHR endpoints
  answer 401 (a script needs a readable answer, not a login form);
- outsider (signed in, not a member): 404 for anything inside a project;
- annotate page and its endpoints: annotator and lead; scientist 403;
- dashboard and items (pages and API reads): lead and scientist; annotator 403;
- settings / categories / members / import pages and API writes: lead only;
- project creation: only users with the `annotation.add_project` permission ("creator").
"Allowed" means anything but 401/403/404: 200, 201, 204, 400 (a minimal body) and 409 all show
that the request got past the access checks.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.authtoken.models import Token

from annotation.models import ImportJob, Role
from annotation.services.annotations import annotation_submit
from annotation.services.queue import item_claim_next
from tests.factories import CategoryFactory, ItemFactory, ProjectFactory, UserFactory, member

ROLES = ("anonymous", "outsider", "creator", "annotator", "scientist", "lead")
EVERYONE = frozenset(ROLES) - {"anonymous"}
MEMBERS = frozenset({"annotator", "scientist", "lead"})
ANNOTATE = frozenset({"annotator", "lead"})
READ_ALL = frozenset({"scientist", "lead"})
LEAD = frozenset({"lead"})
CREATOR = frozenset({"creator"})
DENIED = (401, 403, 404)


@dataclass(frozen=True)
class Entry:
    name: str
    method: str
    url: str  # formatted with slug, item, category, job, annotation
    allowed: frozenset
    kind: str = "page"  # page: anonymous → login redirect; api / xhr: anonymous → 401
    project_scoped: bool = True
    body: dict | None = None


def page(name, url, allowed, scoped=True):
    return Entry(name, "get", url, allowed, "page", scoped)


def xhr(name, url, body=None):
    return Entry(name, "post", url, ANNOTATE, "xhr", True, body or {})


def api(name, method, url, allowed, body=None, scoped=True):
    return Entry(name, method, url, allowed, "api", scoped, body)


ENTRIES = [
    # Pages (annotation/urls.py).
    page("home", "/", EVERYONE, scoped=False),
    page("api-token", "/account/token/", EVERYONE, scoped=False),
    page("project-create", "/projects/new/", CREATOR, scoped=False),
    page("annotate", "/p/{slug}/annotate/", ANNOTATE),
    page("annotate-progress", "/p/{slug}/annotate/progress/", ANNOTATE),
    xhr("annotate-next", "/p/{slug}/annotate/next/"),
    xhr("annotate-submit", "/p/{slug}/annotate/submit/"),
    xhr("annotate-skip", "/p/{slug}/annotate/skip/"),
    xhr("annotate-undo", "/p/{slug}/annotate/undo/"),
    xhr("annotate-renew", "/p/{slug}/annotate/renew/"),
    xhr("annotate-release", "/p/{slug}/annotate/release/"),
    page("dashboard", "/p/{slug}/", READ_ALL),
    page("items", "/p/{slug}/items/", READ_ALL),
    page("project-settings", "/p/{slug}/settings/", LEAD),
    page("categories", "/p/{slug}/categories/", LEAD),
    page("members", "/p/{slug}/members/", LEAD),
    page("import", "/p/{slug}/import/", LEAD),
    page("import-job", "/p/{slug}/import/{job}/", LEAD),
    page("import-job-progress", "/p/{slug}/import/{job}/progress/", LEAD),
    # REST API (annotation/api/urls.py).
    api("api-projects GET", "get", "/api/projects/", EVERYONE, scoped=False),
    api("api-projects POST", "post", "/api/projects/", CREATOR, {"name": ""}, scoped=False),
    api("api-project GET", "get", "/api/projects/{slug}/", MEMBERS),
    api("api-project PATCH", "patch", "/api/projects/{slug}/", LEAD, {}),
    api("api-categories GET", "get", "/api/projects/{slug}/categories/", MEMBERS),
    api("api-categories POST", "post", "/api/projects/{slug}/categories/", LEAD, {"name": ""}),
    api("api-category PATCH", "patch", "/api/projects/{slug}/categories/{category}/", LEAD, {}),
    api("api-items GET", "get", "/api/projects/{slug}/items/", READ_ALL),
    api("api-items-import POST", "post", "/api/projects/{slug}/items/import/", LEAD, {}),
    api("api-imports GET", "get", "/api/projects/{slug}/imports/", READ_ALL),
    api("api-import GET", "get", "/api/projects/{slug}/imports/{job}/", READ_ALL),
    api("api-next POST", "post", "/api/projects/{slug}/next/", ANNOTATE, {}),
    api("api-submit POST", "post", "/api/projects/{slug}/items/{item}/submit/", ANNOTATE, {}),
    api("api-skip POST", "post", "/api/projects/{slug}/items/{item}/skip/", ANNOTATE, {}),
    api("api-release POST", "post", "/api/projects/{slug}/release/", ANNOTATE, {}),
    api("api-renew POST", "post", "/api/projects/{slug}/renew/", ANNOTATE, {}),
    api(
        "api-undo POST",
        "post",
        "/api/projects/{slug}/annotations/{annotation}/undo/",
        ANNOTATE,
        {},
    ),
    api("api-mine GET", "get", "/api/annotations/mine/", EVERYONE, scoped=False),
]


def expected(entry: Entry, role: str) -> str:
    if role == "anonymous":
        return "login" if entry.kind == "page" else "401"
    if role in {"outsider", "creator"} and entry.project_scoped:
        return "404"
    return "allowed" if role in entry.allowed else "403"


@pytest.fixture
def world(db):
    """A project with an item, a category, an import job, and one user per role. Annotating
    roles hold an annotation of their own (so undo has something to undo)."""
    project = ProjectFactory(overlap=3)
    category = CategoryFactory(project=project, name="Hate", hotkey="1")
    users = {role: member(project, role) for role in (Role.ANNOTATOR, Role.SCIENTIST, Role.LEAD)}
    users["outsider"] = UserFactory()
    users["creator"] = UserFactory()
    users["creator"].user_permissions.add(Permission.objects.get(codename="add_project"))
    annotations = {}
    for role in (Role.ANNOTATOR, Role.LEAD):
        ItemFactory(project=project)
        claimed = item_claim_next(project=project, annotator=users[role]).item
        annotations[role] = annotation_submit(
            project=project,
            annotator=users[role],
            item_id=claimed.pk,
            category_ids=[category.pk],
            idempotency_key=f"matrix-{role}",
        ).annotation
    item = ItemFactory(project=project)
    job = ImportJob.objects.create(
        project=project, original_name="x.csv", file_sha256="0" * 64, format="csv"
    )
    return {
        "project": project,
        "users": users,
        "ids": {"slug": project.slug, "item": item.pk, "category": category.pk, "job": job.pk},
        "annotations": annotations,
    }


def _client(entry: Entry, user) -> Client:
    client = Client()
    if user is None:
        return client
    if entry.kind == "api":
        token, _ = Token.objects.get_or_create(user=user)
        return Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_permission_matrix(world, entry, role):
    user = world["users"].get(role)
    own = world["annotations"].get(role) or world["annotations"][Role.ANNOTATOR]
    url = entry.url.format(annotation=own.pk, **world["ids"])
    client = _client(entry, user)

    if entry.method == "get":
        response = client.get(url)
    else:
        call = getattr(client, entry.method)
        response = call(url, data=entry.body or {}, content_type="application/json")

    want = expected(entry, role)
    status = response.status_code
    if want == "login":
        assert status == 302 and response["Location"].startswith("/login/"), status
    elif want == "allowed":
        assert status not in DENIED and status < 500 and status != 501, status
    else:
        assert status == int(want), (status, getattr(response, "content", b"")[:200])


@pytest.mark.parametrize("who", ["anonymous", "annotator", "lead"])
def test_admin_needs_staff(world, who):
    client = Client()
    user = world["users"].get(who)
    if user is not None:
        client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_opens_for_staff(world):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get("/admin/").status_code == 200
