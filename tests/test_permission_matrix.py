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
    # Agreement (dashboard parts): leads and scientists read the status; leads recompute.
    page("agreement-status", "/p/{slug}/agreement/status/", READ_ALL),
    page("agreement-confusion", "/p/{slug}/agreement/confusion/", READ_ALL),
    Entry("agreement-recompute", "post", "/p/{slug}/agreement/recompute/", LEAD, "page", True, {}),
    page("items", "/p/{slug}/items/", READ_ALL),
    # Consolidation and adjudication: the item page for leads and scientists, cases for leads.
    page("item-detail", "/p/{slug}/items/{item}/", READ_ALL),
    Entry("item-detail POST", "post", "/p/{slug}/items/{item}/", LEAD, "page", True, {}),
    page("adjudication", "/p/{slug}/adjudication/", LEAD),
    page("adjudication-next", "/p/{slug}/adjudication/next/", LEAD),
    page("adjudication-case", "/p/{slug}/adjudication/{case}/", LEAD),
    Entry(
        "adjudication-case POST", "post", "/p/{slug}/adjudication/{case}/", LEAD, "page", True, {}
    ),
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
    # Consolidation and adjudication: gold state for leads and scientists, the rest leads only.
    api("api-item-gold GET", "get", "/api/projects/{slug}/items/{item}/gold/", READ_ALL),
    api("api-item-gold POST", "post", "/api/projects/{slug}/items/{item}/gold/", LEAD, {}),
    api("api-item-reopen POST", "post", "/api/projects/{slug}/items/{item}/reopen/", LEAD, {}),
    api(
        "api-item-gold-question POST",
        "post",
        "/api/projects/{slug}/items/{item}/gold-question/",
        LEAD,
        {},
    ),
    api("api-cases GET", "get", "/api/projects/{slug}/adjudication/", LEAD),
    api("api-case GET", "get", "/api/projects/{slug}/adjudication/{case}/", LEAD),
    api(
        "api-case-decide POST",
        "post",
        "/api/projects/{slug}/adjudication/{case}/decide/",
        LEAD,
        {},
    ),
    api(
        "api-case-dismiss POST",
        "post",
        "/api/projects/{slug}/adjudication/{case}/dismiss/",
        LEAD,
        {},
    ),
    # Agreement and annotator quality: scientists read agreement, leads also the annotators.
    api("api-agreement GET", "get", "/api/projects/{slug}/agreement/", READ_ALL),
    api("api-agreement-recompute POST", "post", "/api/projects/{slug}/agreement/recompute/", LEAD),
    api("api-annotators GET", "get", "/api/projects/{slug}/annotators/", LEAD),
    # Active learning (learning/urls.py, learning/api/urls.py): leads and scientists read,
    # leads act; annotators never see the model (blind labeling).
    page("learning", "/p/{slug}/learning/", READ_ALL),
    page("learning-progress", "/p/{slug}/learning/progress/", READ_ALL),
    page("learning-run", "/p/{slug}/learning/runs/{run}/", READ_ALL),
    page("learning-settings", "/p/{slug}/learning/settings/", LEAD),
    Entry("learning-retrain", "post", "/p/{slug}/learning/retrain/", LEAD, "page", True, {}),
    api("api-learning-runs GET", "get", "/api/projects/{slug}/learning/runs/", READ_ALL),
    api("api-learning-run GET", "get", "/api/projects/{slug}/learning/runs/{run}/", READ_ALL),
    api(
        "api-learning-picks GET",
        "get",
        "/api/projects/{slug}/learning/runs/{run}/picks/",
        READ_ALL,
    ),
    api("api-learning-config GET", "get", "/api/projects/{slug}/learning/config/", READ_ALL),
    api("api-learning-config PUT", "put", "/api/projects/{slug}/learning/config/", LEAD, {}),
    api("api-learning-config PATCH", "patch", "/api/projects/{slug}/learning/config/", LEAD, {}),
    api("api-learning-seeds GET", "get", "/api/projects/{slug}/learning/seeds/", READ_ALL),
    api("api-learning-seeds PUT", "put", "/api/projects/{slug}/learning/seeds/", LEAD, {}),
    api("api-learning-retrain POST", "post", "/api/projects/{slug}/learning/retrain/", LEAD, {}),
    # Label-noise review (learning/views_noise.py, learning/api/views_noise.py): leads and
    # scientists read, leads check and review; annotators never see the flags.
    page("learning-noise", "/p/{slug}/learning/noise/", READ_ALL),
    page("learning-noise-progress", "/p/{slug}/learning/noise/progress/", READ_ALL),
    Entry(
        "learning-noise-check", "post", "/p/{slug}/learning/noise/check/", LEAD, "page", True, {}
    ),
    api("api-noise GET", "get", "/api/projects/{slug}/learning/noise/", READ_ALL),
    api("api-noise-runs GET", "get", "/api/projects/{slug}/learning/noise/runs/", READ_ALL),
    api("api-noise-runs POST", "post", "/api/projects/{slug}/learning/noise/runs/", LEAD, {}),
    api(
        "api-noise-run GET",
        "get",
        "/api/projects/{slug}/learning/noise/runs/{noise_run}/",
        READ_ALL,
    ),
    api("api-noise-issues GET", "get", "/api/projects/{slug}/learning/noise/issues/", READ_ALL),
    api(
        "api-noise-issue GET",
        "get",
        "/api/projects/{slug}/learning/noise/issues/{issue}/",
        READ_ALL,
    ),
    api(
        "api-noise-issue-confirm POST",
        "post",
        "/api/projects/{slug}/learning/noise/issues/{issue}/confirm/",
        LEAD,
        {},
    ),
    api(
        "api-noise-issue-dismiss POST",
        "post",
        "/api/projects/{slug}/learning/noise/issues/{issue}/dismiss/",
        LEAD,
        {},
    ),
    # Dataset versions (datacards): leads and scientists read, freeze, write and export.
    page("versions", "/p/{slug}/versions/", READ_ALL),
    Entry("version-freeze", "post", "/p/{slug}/versions/freeze/", READ_ALL, "page", True, {}),
    page("versions-diff", "/p/{slug}/versions/diff/?from=1&to=1", READ_ALL),
    page("version", "/p/{slug}/versions/1/", READ_ALL),
    page("version-progress", "/p/{slug}/versions/1/progress/", READ_ALL),
    page("version-readme", "/p/{slug}/versions/1/README.md", READ_ALL),
    page("version-croissant", "/p/{slug}/versions/1/croissant.json", READ_ALL),
    page("export-progress", "/p/{slug}/versions/1/exports/progress/", READ_ALL),
    Entry("version-sections", "post", "/p/{slug}/versions/1/sections/", READ_ALL, "page", True, {}),
    Entry("version-publish", "post", "/p/{slug}/versions/1/publish/", READ_ALL, "page", True, {}),
    Entry("version-delete", "post", "/p/{slug}/versions/1/delete/", READ_ALL, "page", True, {}),
    Entry("version-note", "post", "/p/{slug}/versions/1/notes/", READ_ALL, "page", True, {}),
    Entry("version-export", "post", "/p/{slug}/versions/1/exports/", READ_ALL, "page", True, {}),
    api("api-versions GET", "get", "/api/projects/{slug}/versions/", READ_ALL),
    api("api-versions POST", "post", "/api/projects/{slug}/versions/", READ_ALL, {}),
    api(
        "api-versions-diff GET", "get", "/api/projects/{slug}/versions/diff/?from=1&to=1", READ_ALL
    ),
    api("api-version GET", "get", "/api/projects/{slug}/versions/1/", READ_ALL),
    api("api-version PATCH", "patch", "/api/projects/{slug}/versions/1/", READ_ALL, {}),
    api("api-version DELETE", "delete", "/api/projects/{slug}/versions/1/", READ_ALL),
    api("api-version-publish POST", "post", "/api/projects/{slug}/versions/1/publish/", READ_ALL),
    api("api-version-notes GET", "get", "/api/projects/{slug}/versions/1/notes/", READ_ALL),
    api("api-version-notes POST", "post", "/api/projects/{slug}/versions/1/notes/", READ_ALL, {}),
    api("api-version-readme GET", "get", "/api/projects/{slug}/versions/1/readme/", READ_ALL),
    api("api-version-croissant GET", "get", "/api/projects/{slug}/versions/1/croissant/", READ_ALL),
    api("api-version-exports GET", "get", "/api/projects/{slug}/versions/1/exports/", READ_ALL),
    api(
        "api-version-exports POST", "post", "/api/projects/{slug}/versions/1/exports/", READ_ALL, {}
    ),
    api("api-export GET", "get", "/api/projects/{slug}/versions/1/exports/{export}/", READ_ALL),
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
        "ids": {
            "slug": project.slug,
            "item": item.pk,
            "category": category.pk,
            "job": job.pk,
            "run": _learning_run(project).number,
            "case": _case(item).pk,
            **_label_issue(project),
            "export": _datacards_export(project, users[Role.LEAD]).pk,
        },
        "annotations": annotations,
    }


def _case(item):
    from annotation.services.adjudication import case_open

    return case_open(item_id=item.pk, reason="label_error").case


def _label_issue(project) -> dict:
    """A finished label-noise check with one open issue (and its case) on an item of its own."""
    from annotation.models import GoldLabel
    from annotation.services.adjudication import case_open
    from learning.models import LabelIssue, NoiseRun

    item = ItemFactory(project=project)
    gold = GoldLabel.objects.create(project=project, item=item, source="consensus")
    run = NoiseRun.objects.create(project=project, number=1, trigger="manual", status="done")
    issue = LabelIssue.objects.create(
        project=project, item=item, run=run, gold_label=gold, given=[], given_key="none",
        quality=0.1, method="cleanlab:test",
    )  # fmt: skip
    issue.case = case_open(item_id=item.pk, reason="label_error").case
    issue.save(update_fields=["case"])
    return {"noise_run": run.number, "issue": issue.pk}


def _learning_run(project):
    from learning.models import ModelRun

    return ModelRun.objects.create(project=project, number=1, trigger="manual", status="done")


def _datacards_export(project, lead):
    """Version 1 of the project, a draft (stored directly), with a pending export job."""
    from datacards.models import DatasetVersion, ExportJob

    version = DatasetVersion.objects.create(
        project=project, number=1, status="draft", created_by=lead
    )
    return ExportJob.objects.create(version=version, format="csv")


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
