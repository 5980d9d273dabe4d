"""Import pages, the import_items command, and an import through a real Celery worker."""

import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import ImportJob, Item
from annotation.services.imports import import_job_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    from django.core.cache import cache

    cache.clear()  # progress is cached per job id, and SQLite reuses ids between tests
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    data = content if content is not None else (FIXTURES / name).read_bytes()
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _logged_in(client, user):
    client.force_login(user)
    return client


# The upload page ---------------------------------------------------------------------------


def test_lead_sees_the_form_and_past_imports(client, project, lead, django_assert_num_queries):
    for name in ("good.csv", "good.jsonl", "good.parquet"):
        import_job_create(
            project=project, created_by=lead, uploaded_file=FIXTURES / name, enqueue=False
        )
    _logged_in(client, lead)

    # session, user, project, membership, the jobs list
    with django_assert_num_queries(4):
        response = client.get(reverse("import", args=[project.slug]))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="import-form"' in body and "goldset/import.js" in body
    assert body.count("good.") >= 3


def test_lead_uploads_with_the_form_and_lands_on_the_job(
    client, project, lead, django_capture_on_commit_callbacks
):
    _logged_in(client, lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("import", args=[project.slug]),
            {"file": _upload("good.csv"), "map_metadata": "source", "skip_bad_rows": "on"},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import-job", args=[project.slug, job.pk])
    assert job.status == ImportJob.Status.DONE and job.skip_bad_rows
    assert job.created_by == lead
    assert Item.objects.get(external_id="a1").metadata == {"source": "forum"}


def test_xhr_upload_answers_json_with_the_job_address(
    client, project, lead, django_capture_on_commit_callbacks
):
    _logged_in(client, lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("import", args=[project.slug]),
            {"file": _upload("good.jsonl"), "format": ""},
            **XHR,
        )

    job = ImportJob.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "job_id": job.pk,
        "redirect": reverse("import-job", args=[project.slug, job.pk]),
    }
    assert Item.objects.count() == 3


def test_xhr_reupload_of_the_same_file_is_409_and_imports_nothing(
    client, project, lead, django_capture_on_commit_callbacks
):
    _logged_in(client, lead)
    url = reverse("import", args=[project.slug])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"file": _upload("good.csv")}, **XHR)

    response = client.post(url, {"file": _upload("good.csv")}, **XHR)

    assert response.status_code == 409
    assert "was already imported on" in response.json()["error"]
    assert Item.objects.count() == 3 and ImportJob.objects.count() == 1


def test_bad_upload_shows_the_message_on_the_page(client, project, lead):
    _logged_in(client, lead)
    url = reverse("import", args=[project.slug])

    page = client.post(url, {"file": _upload("notes.txt", b"id,text\n1,a\n")})
    xhr = client.post(url, {"file": _upload("notes.txt", b"id,text\n1,a\n")}, **XHR)
    missing = client.post(url, {}, **XHR)

    assert page.status_code == 400 and "Unknown file type .txt" in page.content.decode()
    assert xhr.status_code == 400 and "Unknown file type .txt" in xhr.json()["error"]
    assert missing.status_code == 400 and missing.json()["error"] == "Choose a file to upload."
    assert ImportJob.objects.count() == 0 and Item.objects.count() == 0


@pytest.mark.parametrize("role_user", ["annotator", "scientist"])
def test_annotators_and_scientists_get_403(client, project, role_user, request):
    user = request.getfixturevalue(role_user)
    _logged_in(client, user)

    get = client.get(reverse("import", args=[project.slug]))
    post = client.post(reverse("import", args=[project.slug]), {"file": _upload("good.csv")})

    assert get.status_code == 403 and post.status_code == 403
    assert ImportJob.objects.count() == 0


def test_non_members_get_404_everywhere(client, project, lead, outsider):
    job = import_job_create(
        project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )
    _logged_in(client, outsider)

    for url in (
        reverse("import", args=[project.slug]),
        reverse("import-job", args=[project.slug, job.pk]),
        reverse("import-job-progress", args=[project.slug, job.pk]),
    ):
        assert client.get(url).status_code == 404


def test_anonymous_users_are_sent_to_login(client, project):
    response = client.get(reverse("import", args=[project.slug]))
    assert response.status_code == 302 and "login" in response["Location"]


# The job page and its progress fragment ----------------------------------------------------


def test_job_page_lists_bad_rows_escaped(client, project, lead, tmp_path):
    hostile = tmp_path / "hostile.csv"
    hostile.write_text('id,text\n<script>alert(1)</script>,ok\n"<script>alert(1)</script>",dup\n')
    job = import_job_create(project=project, created_by=lead, uploaded_file=hostile, enqueue=False)
    from annotation.services.imports import import_job_run

    import_job_run(job_id=job.pk)
    _logged_in(client, lead)

    response = client.get(reverse("import-job", args=[project.slug, job.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in body
    assert "id &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27; also on line 2" in body
    assert "1 bad row; nothing was imported." in body
    assert 'hx-trigger="every 1s"' not in body  # finished: no polling


def test_progress_fragment_polls_while_running_and_stops_when_done(client, project, lead):
    job = import_job_create(
        project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )
    _logged_in(client, lead)
    url = reverse("import-job-progress", args=[project.slug, job.pk])

    pending = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in pending and f'hx-get="{url}"' in pending

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    cache.set(
        f"import-progress:{job.pk}",
        {
            "status": "running",
            "phase": "inserting",
            "rows_processed": 2,
            "rows_total": 3,
            "percent": 83.3,
        },
    )
    running = client.get(url).content.decode()
    assert "inserting: 2 of 3 rows" in running and "width: 83.3%" in running
    assert 'hx-trigger="every 1s"' in running

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.PENDING)
    from annotation.services.imports import import_job_run

    import_job_run(job_id=job.pk)
    done = client.get(url).content.decode()
    assert "hx-trigger" not in done and "Imported 3 items." in done and "width: 100.0%" in done


def test_job_of_another_project_is_404(client, project, lead):
    from tests.factories import ProjectFactory

    other = ProjectFactory()
    job = import_job_create(
        project=other, created_by=None, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )
    _logged_in(client, lead)

    assert client.get(reverse("import-job", args=[project.slug, job.pk])).status_code == 404


# The management command --------------------------------------------------------------------


def test_command_imports_and_reports(project, lead):
    out = StringIO()
    call_command(
        "import_items",
        project.slug,
        str(FIXTURES / "good.jsonl"),
        "--map",
        "text=content",
        "--user",
        lead.username,
        stdout=out,
    )

    assert "Imported 3 items." in out.getvalue()
    job = ImportJob.objects.get()
    assert job.created_by == lead and job.mapping["text"] == "content"
    assert Item.objects.count() == 3


def test_command_fails_with_the_error_list_and_imports_nothing(project):
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_items", project.slug, str(FIXTURES / "bad.csv"), stdout=out)

    assert "5 bad rows; nothing was imported." in str(exc.value)
    assert "line 5: id 'b1' also on line 2" in out.getvalue()
    assert Item.objects.count() == 0


def test_command_skip_bad_rows_and_input_errors(project):
    out = StringIO()
    call_command(
        "import_items", project.slug, str(FIXTURES / "bad.csv"), "--skip-bad-rows", stdout=out
    )
    assert Item.objects.count() == 2 and "line 3: empty text" in out.getvalue()

    with pytest.raises(CommandError, match="No project with the slug 'nope'"):
        call_command("import_items", "nope", str(FIXTURES / "good.csv"))
    with pytest.raises(CommandError, match="--map takes FIELD=COLUMN"):
        call_command("import_items", project.slug, str(FIXTURES / "good.csv"), "--map", "text")
    with pytest.raises(CommandError, match="already imported"):
        call_command("import_items", project.slug, str(FIXTURES / "bad.csv"), "--skip-bad-rows")


# A real Celery worker ----------------------------------------------------------------------


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker process stores and reads files under the same media folder as the test."""
    monkeypatch.setenv("GOLDSET_MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.mark.real_services
@pytest.mark.timeout(180)
def test_import_through_a_real_worker(shared_media, celery_worker, project):
    lead = UserFactory()
    job = import_job_create(project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            break
        time.sleep(0.2)

    assert job.status == ImportJob.Status.DONE, job.message
    assert Item.objects.filter(project=project, import_job=job).count() == 3
