"""Import over the API: JSON rows (synchronous) and file uploads (a queued job), job reads."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import ImportJob, Item, Role
from tests.factories import ProjectFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads must not land in the project's media folder


CSV = b"id,text,url\na1,First text,https://a.example/x\na2,Second text,\n"


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def url(project, tail="items/import/"):
    return f"/api/projects/{project.slug}/{tail}"


def test_json_rows_are_imported_synchronously(project, lead):
    rows = [{"id": "r1", "text": "Hello", "url": "https://x.example/"}, {"id": "r2", "text": "Bye"}]

    response = client_for(lead).post(url(project), {"items": rows}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "done" and body["rows_imported"] == 2 and body["rows_bad"] == 0
    stored = Item.objects.filter(project=project).order_by("external_id")
    assert [(i.external_id, i.text, i.open_slots) for i in stored] == [
        ("r1", "Hello", 2),
        ("r2", "Bye", 2),
    ]
    assert all(i.import_job_id == body["id"] for i in stored)


def test_json_rows_with_a_bad_row_import_nothing(project, lead):
    rows = [{"id": "r1", "text": "Fine"}, {"id": "r2", "text": ""}]

    response = client_for(lead).post(url(project), {"items": rows}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed" and "nothing was imported" in body["error"]
    assert body["job"]["errors"][0]["line"] == 2
    assert not Item.objects.exists()


def test_json_rows_skip_bad_rows_imports_the_good_ones(project, lead):
    rows = [{"id": "r1", "text": "Fine"}, {"id": "r2", "text": ""}]

    response = client_for(lead).post(
        url(project), {"items": rows, "skip_bad_rows": True}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["rows_imported"] == 1 and response.json()["rows_bad"] == 1
    assert list(Item.objects.values_list("external_id", flat=True)) == ["r1"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "items: This field is required."),
        ({"items": []}, "items:"),
        ({"items": ["just text"]}, "items:"),
    ],
)
def test_json_import_bad_request_is_400(project, lead, body, message):
    response = client_for(lead).post(url(project), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert not Item.objects.exists() and not ImportJob.objects.exists()


def test_file_upload_queues_a_job_that_imports(project, lead, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("batch.csv", CSV, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(url(project), {"file": upload}, format="multipart")

    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.original_name == "batch.csv" and job.format == "csv"
    job.refresh_from_db()
    assert job.status == "done" and job.rows_imported == 2
    assert set(Item.objects.values_list("external_id", flat=True)) == {"a1", "a2"}


def test_file_upload_with_mapping(project, lead, django_capture_on_commit_callbacks):
    data = b"doc,body\nz1,Mapped text\n"
    upload = SimpleUploadedFile("m.csv", data, content_type="text/csv")
    mapping = json.dumps({"id": "doc", "text": "body"})

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            url(project), {"file": upload, "mapping": mapping}, format="multipart"
        )

    assert response.status_code == 202
    assert Item.objects.get().text == "Mapped text"


def test_file_upload_bad_mapping_is_400_and_stores_no_job(project, lead):
    upload = SimpleUploadedFile("m.csv", CSV, content_type="text/csv")

    response = client_for(lead).post(
        url(project), {"file": upload, "mapping": "{not json"}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith("mapping: mapping is not valid JSON")
    assert not ImportJob.objects.exists()


def test_same_file_twice_is_409(project, lead, django_capture_on_commit_callbacks):
    client = client_for(lead)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            url(project), {"file": SimpleUploadedFile("a.csv", CSV)}, format="multipart"
        )
    assert first.status_code == 202

    again = client.post(
        url(project), {"file": SimpleUploadedFile("b.csv", CSV)}, format="multipart"
    )

    assert again.status_code == 409
    assert "already imported" in again.json()["error"]
    assert ImportJob.objects.count() == 1 and Item.objects.count() == 2


def test_unsupported_file_is_400(project, lead):
    upload = SimpleUploadedFile("data.xlsx", b"PK\x03\x04", content_type="application/zip")

    response = client_for(lead).post(url(project), {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.SCIENTIST])
def test_only_leads_import(project, role):
    user = member(project, role)

    response = client_for(user).post(
        url(project), {"items": [{"id": "x1", "text": "t"}]}, format="json"
    )

    assert response.status_code == 403
    assert not Item.objects.exists() and not ImportJob.objects.exists()


def test_job_list_and_detail_for_scientist(project, lead, scientist):
    client_for(lead).post(url(project), {"items": [{"id": "r1", "text": "T"}]}, format="json")
    client = client_for(scientist)

    listed = client.get(url(project, "imports/")).json()
    job_id = listed["results"][0]["id"]
    detail = client.get(url(project, f"imports/{job_id}/")).json()

    assert set(listed) == {"next", "previous", "results"}
    assert "errors" not in listed["results"][0]
    assert detail["rows_imported"] == 1 and detail["errors"] == []
    assert detail["progress"]["status"] == "done" and detail["progress"]["percent"] == 100.0


def test_job_of_another_project_is_404(project, lead):
    other = ProjectFactory()
    job = ImportJob.objects.create(
        project=other, original_name="x.csv", file_sha256="0" * 64, format="csv"
    )

    response = client_for(lead).get(url(project, f"imports/{job.pk}/"))

    assert response.status_code == 404
    assert response.json()["error"] == "No such import in this project."


def test_running_job_shows_live_progress(project, lead):
    from django.core.cache import cache

    job = ImportJob.objects.create(
        project=project, original_name="x.csv", file_sha256="0" * 64, format="csv",
        status="running",
    )  # fmt: skip
    cache.set(
        f"import-progress:{job.pk}",
        {"status": "running", "phase": "validating", "rows_processed": 50, "rows_total": 200,
         "percent": 25.0},
    )  # fmt: skip

    progress = client_for(lead).get(url(project, f"imports/{job.pk}/")).json()["progress"]

    assert progress == {
        "status": "running", "phase": "validating", "rows_processed": 50, "rows_total": 200,
        "percent": 25.0,
    }  # fmt: skip


@pytest.mark.parametrize("n", [1, 5])
def test_job_list_query_count_is_constant(django_assert_num_queries, project, lead, n):
    for i in range(n):
        ImportJob.objects.create(
            project=project, original_name=f"{i}.csv", file_sha256=f"{i:064d}", format="csv"
        )
    client = client_for(lead)

    with django_assert_num_queries(3):  # token, project with role, jobs
        response = client.get(url(project, "imports/"))
    assert len(response.json()["results"]) == n
