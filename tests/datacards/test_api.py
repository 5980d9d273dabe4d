"""The versions API: freeze, read, sections, publish, notes, documents, exports; the error
shape for bad input; query counts of the lists."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from datacards.models import CurationNote, DatasetVersion, ExportJob
from datacards.services.versions import curation_note_add
from tests.factories import frozen_version


@pytest.fixture
def api(scientist):
    token, _ = Token.objects.get_or_create(user=scientist)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def base(dataset):
    return f"/api/projects/{dataset.project.slug}/versions/"


def test_freeze_read_edit_publish(dataset, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(base(dataset))
    assert created.status_code == 202 and created.json()["status"] == "freezing"

    detail = api.get(base(dataset) + "1/").json()
    assert detail["status"] == "draft" and detail["item_count"] == 5
    assert detail["card"]["counts"]["annotators"] == 3
    edited = api.patch(base(dataset) + "1/", {"license": "mit"}, content_type="application/json")
    assert edited.status_code == 200 and edited.json()["sections"]["license"] == "mit"
    published = api.post(base(dataset) + "1/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"

    again = api.post(base(dataset) + "1/publish/")
    assert again.status_code == 409 and again.json()["code"] == "already_published"
    late = api.patch(base(dataset) + "1/", {"license": "x"}, content_type="application/json")
    assert late.status_code == 409 and "no longer change" in late.json()["error"]
    gone = api.delete(base(dataset) + "1/")
    assert gone.status_code == 409
    assert DatasetVersion.objects.get().license == "mit"


def test_freeze_an_empty_project_is_400(project, scientist):
    token, _ = Token.objects.get_or_create(user=scientist)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.post(f"/api/projects/{project.slug}/versions/")

    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_freeze"
    assert not DatasetVersion.objects.exists()


def test_unknown_versions_and_bad_sections(dataset, api, scientist):
    frozen_version(dataset.project, scientist)

    missing = api.get(base(dataset) + "4/")
    assert missing.status_code == 404 and missing.json()["code"] == "no_version"
    bad = api.patch(base(dataset) + "1/", {"license": "a b"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_license"
    assert DatasetVersion.objects.get().license == ""


def test_notes(dataset, api, scientist):
    frozen_version(dataset.project, scientist, publish=True)

    empty = api.post(base(dataset) + "1/notes/", {"text": " "}, content_type="application/json")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_note"
    added = api.post(
        base(dataset) + "1/notes/", {"text": "Checked."}, content_type="application/json"
    )
    assert added.status_code == 201 and added.json()["author"] == scientist.username
    assert [n["text"] for n in api.get(base(dataset) + "1/notes/").json()] == ["Checked."]
    assert CurationNote.objects.count() == 1


def test_documents(dataset, api, scientist):
    version = frozen_version(dataset.project, scientist)

    readme = api.get(base(dataset) + "1/readme/")
    croissant = api.get(base(dataset) + "1/croissant/")

    assert readme.status_code == 200 and version.content_hash in readme.content.decode()
    assert croissant.json()["distribution"][0]["sha256"] == version.content_hash


def test_exports(dataset, api, scientist, django_capture_on_commit_callbacks):
    frozen_version(dataset.project, scientist)
    draft = api.post(
        base(dataset) + "1/exports/", {"format": "csv"}, content_type="application/json"
    )
    assert draft.status_code == 409 and draft.json()["code"] == "not_published"
    api.post(base(dataset) + "1/publish/")

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            base(dataset) + "1/exports/",
            {"format": "parquet", "split": "train_test", "test_fraction": 0.4, "seed": 9},
            content_type="application/json",
        )
    assert created.status_code == 202
    job = api.get(base(dataset) + f"1/exports/{created.json()['id']}/").json()
    assert job["status"] == "done" and job["download"].endswith("/download/")
    reused = api.post(
        base(dataset) + "1/exports/",
        {"format": "parquet", "split": "train_test", "test_fraction": 0.4, "seed": 9},
        content_type="application/json",
    )
    assert reused.status_code == 200 and reused.json()["id"] == job["id"]
    bad = api.post(base(dataset) + "1/exports/", {"format": "xml"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_format"
    assert ExportJob.objects.count() == 1


def test_list_query_counts_do_not_grow(dataset, api, scientist, django_assert_num_queries):
    version = frozen_version(dataset.project, scientist, publish=True)
    curation_note_add(version=version, author=scientist, text="first")
    ExportJob.objects.create(version=version, format="jsonl")
    counts = {url: len(_queries(api, url)) for url in _lists(dataset)}
    for i in range(3):
        curation_note_add(version=version, author=scientist, text=f"n{i}")
        ExportJob.objects.create(version=version, format="csv", seed=i, split="train_test")
        frozen_version(dataset.project, scientist)
        DatasetVersion.objects.filter(status="draft").update(status="deleted")
    for url, n in counts.items():
        with django_assert_num_queries(n):
            assert api.get(url).status_code == 200


def _lists(dataset):
    return [base(dataset), base(dataset) + "1/notes/", base(dataset) + "1/exports/"]


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return captured.captured_queries
