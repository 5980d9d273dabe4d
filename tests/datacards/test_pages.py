"""Version pages: list and freeze, the card page, sections, notes, publish, exports, documents;
escaping of item text and of what people wrote; query counts."""

import pytest
from django.test import Client

from datacards.models import CurationNote, DatasetVersion, ExportJob
from tests.factories import frozen_version


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def url(dataset, rest=""):
    return f"/p/{dataset.project.slug}/versions/{rest}"


def test_freeze_from_the_list_page(
    dataset, scientist, client_for, django_capture_on_commit_callbacks
):
    client = client_for(scientist)

    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(url(dataset, "freeze/"))
    response = client.get(posted["Location"])

    assert response.status_code == 200
    version = DatasetVersion.objects.get(project=dataset.project)
    assert version.status == "draft"
    html = response.content.decode()
    assert "Freezing version 1." in html and version.content_hash[:12] in html


def test_freezing_an_empty_project_shows_the_message(project, scientist, client_for):
    response = client_for(scientist).post(f"/p/{project.slug}/versions/freeze/", follow=True)

    assert "Nothing to freeze" in response.content.decode()
    assert not DatasetVersion.objects.exists()


def test_progress_fragment_polls_while_freezing_and_stops_after(dataset, scientist, client_for):
    from datacards.services.freeze import version_freeze_run
    from datacards.services.versions import version_freeze_start

    version = version_freeze_start(project=dataset.project, user=scientist)
    client = client_for(scientist)

    polling = client.get(url(dataset, "1/progress/")).content.decode()
    assert 'hx-trigger="every 1s"' in polling and "Freezing" in polling
    assert 'hx-trigger="every 1s"' in client.get(url(dataset)).content.decode()
    version_freeze_run(version_id=version.pk)
    done = client.get(url(dataset, "1/progress/")).content.decode()
    assert "hx-trigger" not in done and "Open its data card" in done


def test_card_page_shows_figures_and_escapes_what_people_wrote(dataset, lead, client_for):
    version = frozen_version(dataset.project, lead)
    client = client_for(lead)
    client.post(url(dataset, "1/sections/"), {"motivation": "<script>alert(1)</script>"})
    client.post(url(dataset, "1/notes/"), {"text": "<img src=x onerror=alert(2)>"})

    html = client.get(url(dataset, "1/")).content.decode()

    assert version.content_hash in html
    assert 'id="chart-prevalence"' in html and 'id="card-data"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "not reviewed" in html
    assert CurationNote.objects.filter(version=version).count() == 1


def test_publish_needs_the_typed_number_then_freezes_the_sections(dataset, lead, client_for):
    frozen_version(dataset.project, lead)
    client = client_for(lead)

    client.post(url(dataset, "1/publish/"), {"confirm": "2"})
    assert DatasetVersion.objects.get(project=dataset.project).status == "draft"
    client.post(url(dataset, "1/publish/"), {"confirm": "1"})
    assert DatasetVersion.objects.get(project=dataset.project).status == "published"

    response = client.post(url(dataset, "1/sections/"), {"motivation": "late"}, follow=True)
    assert "can no longer change" in response.content.decode()
    assert DatasetVersion.objects.get(project=dataset.project).motivation == ""
    again = client.post(url(dataset, "1/publish/"), {"confirm": "1"}, follow=True)
    assert "published already" in again.content.decode()


def test_export_from_the_page_and_download(dataset, scientist, client_for,
                                           django_capture_on_commit_callbacks):  # fmt: skip
    frozen_version(dataset.project, scientist, publish=True)
    client = client_for(scientist)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(dataset, "1/exports/"), {"format": "parquet", "split": "none"})
    job = ExportJob.objects.get()
    assert job.status == "done"
    html = client.get(url(dataset, "1/exports/progress/")).content.decode()
    assert job.file_name in html and "hx-trigger" not in html
    bad = client.post(url(dataset, "1/exports/"), {"format": "xlsx"}, follow=True)
    assert "Unknown export format" in bad.content.decode()
    assert ExportJob.objects.count() == 1


def test_delete_a_draft_from_the_page(dataset, scientist, client_for):
    frozen_version(dataset.project, scientist)

    response = client_for(scientist).post(url(dataset, "1/delete/"), follow=True)

    assert "Version 1 deleted." in response.content.decode()
    assert DatasetVersion.objects.get(project=dataset.project).status == "deleted"


def test_documents_download(dataset, scientist, client_for):
    frozen_version(dataset.project, scientist)
    client = client_for(scientist)

    readme = client.get(url(dataset, "1/README.md"))
    croissant = client.get(url(dataset, "1/croissant.json"))

    assert readme["Content-Type"].startswith("text/markdown")
    assert readme.content.startswith(b"---\npretty_name:")
    assert croissant.json()["@type"] == "sc:Dataset"
    assert client.get(url(dataset, "9/README.md")).status_code == 404


def test_unknown_version_is_404(dataset, scientist, client_for):
    assert client_for(scientist).get(url(dataset, "5/")).status_code == 404


def test_versions_page_query_count_does_not_grow(dataset, scientist, client_for,
                                                 django_assert_num_queries):  # fmt: skip
    client = client_for(scientist)
    frozen_version(dataset.project, scientist, publish=True)
    client.get(url(dataset))  # warm the session
    with django_assert_num_queries(4) as one:
        client.get(url(dataset))
    for _ in range(3):
        frozen_version(dataset.project, scientist)
        from datacards.services.versions import version_publish

        version_publish(
            version=DatasetVersion.objects.filter(project=dataset.project).first(), user=scientist
        )
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(url(dataset)).status_code == 200


def test_version_page_query_count_does_not_grow_with_notes_and_exports(
    dataset, scientist, client_for, django_assert_num_queries
):
    from datacards.services.versions import curation_note_add

    version = frozen_version(dataset.project, scientist, publish=True)
    client = client_for(scientist)
    client.get(url(dataset, "1/"))
    with django_assert_num_queries(7) as one:
        client.get(url(dataset, "1/"))
    for i in range(3):
        curation_note_add(version=version, author=scientist, text=f"note {i}")
        ExportJob.objects.create(version=version, format="csv", seed=i, split="train_test")
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(url(dataset, "1/")).status_code == 200
