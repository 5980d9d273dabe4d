"""Item import service: CSV, JSONL and Parquet files, the API's rows, validation, re-imports."""

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotation.errors import Conflict, InvalidInput
from annotation.models import ImportJob, Item
from annotation.services.imports import (
    import_job_create,
    import_job_run,
    item_import_rows,
    priority_for,
)
from annotation.services.imports import jobs as import_jobs
from annotation.tasks import item_import_task
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    from django.core.cache import cache

    cache.clear()  # progress is cached per job id, and SQLite reuses ids between tests
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _file(tmp_path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _import(project, user, path, **kw) -> ImportJob:
    job = import_job_create(
        project=project, created_by=user, uploaded_file=path, enqueue=False, **kw
    )
    return import_job_run(job_id=job.pk)


def _reasons(job) -> dict[int, str]:
    return {e["line"]: e["reason"] for e in job.errors}


# Happy paths -------------------------------------------------------------------------------


def test_csv_import_maps_columns_metadata_and_prior_labels(project, lead):
    job = _import(project, lead, FIXTURES / "good.csv")

    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.rows_total, job.rows_imported, job.rows_bad) == (3, 3, 0)
    assert job.message == "Imported 3 items."
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert items["a2"].text == "A post that spans\ntwo lines."
    assert items["a2"].prior_labels == ["Hate", "Violence"]  # case-insensitive, canonical
    assert items["a1"].prior_labels is None
    assert items["a3"].prior_labels == ["Social Media"]
    assert items["a1"].metadata == {"source": "forum", "lang": "en"}
    assert items["a3"].metadata == {"source": "chat"}  # empty cells are not metadata
    assert items["a1"].url == "https://example.org/garden" and items["a1"].title == "Gardening"
    for item in items.values():
        assert item.import_job_id == job.pk
        assert item.open_slots == project.overlap and item.annotation_count == 0
        assert 0 <= item.priority < 1
        assert item.priority == priority_for(project.pk, item.external_id)
        digest = hashlib.sha256(f"{item.text}\n{item.url}".encode()).hexdigest()
        assert item.content_hash == digest
        assert item.created_at is not None
    assert job.file_sha256 == hashlib.sha256((FIXTURES / "good.csv").read_bytes()).hexdigest()
    assert job.file_size == (FIXTURES / "good.csv").stat().st_size


def test_jsonl_import_guesses_columns_and_accepts_integer_ids(project, lead):
    job = _import(project, lead, FIXTURES / "good.jsonl")

    assert job.status == ImportJob.Status.DONE, job.message
    assert job.mapping["id"] == "item_id" and job.mapping["text"] == "content"
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert set(items) == {"j1", "2", "j3"}
    assert items["j1"].metadata == {"score": 0.5, "tags": ["x", "y"]}
    assert items["j1"].url == "https://example.org/j1"
    assert items["2"].prior_labels == ["Violence", "Self-Harm"]
    assert items["2"].metadata == {}  # null values are dropped
    assert items["j3"].metadata == {"extra": {"nested": True}}
    assert items["j3"].text == "Third <b>JSON</b> item."  # stored as given, escaped on output


def test_parquet_import_reads_lists_and_nulls(project, lead):
    job = _import(project, lead, FIXTURES / "good.parquet")

    assert job.status == ImportJob.Status.DONE, job.message
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert items["p1"].prior_labels == ["Hate"]
    assert items["p2"].prior_labels == []
    assert items["p3"].prior_labels is None
    assert items["p1"].metadata == {"n": 1}
    assert items["p2"].url == ""


def test_explicit_mapping_and_metadata_columns(project, lead, tmp_path):
    path = _file(
        tmp_path,
        "custom.csv",
        "doc,body_text,site,keep,drop\nd1,Body one.,https://e.org,k1,x1\nd2,Body two.,,k2,x2\n",
    )
    job = _import(
        project,
        lead,
        path,
        mapping={"id": "doc", "text": "body_text", "url": "site", "metadata": ["keep"]},
    )

    assert job.status == ImportJob.Status.DONE, job.message
    item = Item.objects.get(project=project, external_id="d1")
    assert (item.text, item.url, item.metadata) == ("Body one.", "https://e.org", {"keep": "k1"})


def test_parquet_written_at_test_time_with_explicit_format(project, lead, tmp_path):
    path = tmp_path / "data.bin"
    pq.write_table(pa.table({"id": [1, 2], "text": ["One.", "Two."]}), path)

    job = _import(project, lead, path, format="parquet")

    assert job.status == ImportJob.Status.DONE, job.message
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["1", "2"]


# Bad rows ----------------------------------------------------------------------------------


def test_bad_csv_rows_fail_the_whole_import_with_line_numbers(project, lead):
    job = _import(project, lead, FIXTURES / "bad.csv")

    assert job.status == ImportJob.Status.FAILED
    assert job.message == ("5 bad rows; nothing was imported. Fix them or choose 'skip bad rows'.")
    assert _reasons(job) == {
        3: "empty text (column 'text')",
        4: "unknown category 'Nonsense' in labels (the project has: Adult Content, Violence, "
        "Self-Harm, Hate, Social Media)",
        5: "id 'b1' also on line 2",
        7: "missing id (column 'id')",
        8: "has 4 fields; the header has 3",
    }
    assert (job.rows_total, job.rows_bad, job.rows_imported) == (7, 5, 0)
    assert Item.objects.count() == 0


def test_skip_bad_rows_imports_the_good_ones_and_lists_the_bad(project, lead):
    job = _import(project, lead, FIXTURES / "bad.csv", skip_bad_rows=True)

    assert job.status == ImportJob.Status.DONE
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["b1", "b5"]
    assert Item.objects.get(external_id="b1").text == "Fine row one."  # the first b1 wins
    assert Item.objects.get(external_id="b5").prior_labels == ["Hate"]
    assert job.rows_imported == 2 and job.rows_bad == 5 and len(job.errors) == 5
    assert job.message == "Imported 2 items. 5 bad rows skipped."


def test_bad_jsonl_lines(project, lead):
    job = _import(project, lead, FIXTURES / "bad.jsonl")

    assert job.status == ImportJob.Status.FAILED
    reasons = _reasons(job)
    assert reasons[2].startswith("not valid JSON (")
    assert reasons[3] == "is a JSON list, not an object"
    assert reasons[4] == "id must be a string or an integer, not a number"
    assert reasons[5] == "text must be a string, not a number"
    assert reasons[6] == "id must be a string or an integer, not a boolean"
    assert reasons[7] == "a NUL byte (\\x00) in text, which the database cannot store"
    assert reasons[8] == "url must be a string, not a list"
    assert 1 not in reasons
    assert Item.objects.count() == 0


def test_jsonl_line_with_invalid_utf8_and_a_multiline_csv_record(project, lead, tmp_path):
    jsonl = _file(tmp_path, "x.jsonl", b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "\xff"}\n')
    job = _import(project, lead, jsonl)
    assert _reasons(job) == {2: "bytes that are not UTF-8"}

    csv_path = _file(tmp_path, "x.csv", 'id,text\n1,"two\nlines"\n2,\n')
    job = _import(project, lead, csv_path)
    assert _reasons(job) == {4: "empty text (column 'text')"}  # the record on line 4
    assert Item.objects.count() == 0


def test_csv_bytes_that_are_not_utf8(project, lead):
    job = _import(project, lead, FIXTURES / "not_utf8.csv")

    assert job.status == ImportJob.Status.FAILED
    assert _reasons(job) == {3: "bytes that are not UTF-8 in column 'text'"}
    assert Item.objects.count() == 0


def test_text_too_long_long_id_nul_and_metadata(project, lead, tmp_path, settings):
    settings.GOLDSET = {**settings.GOLDSET, "ITEM_TEXT_MAX_CHARS": 10}
    long_id = "x" * 256
    path = _file(
        tmp_path,
        "limits.jsonl",
        "\n".join(
            [
                '{"id": "ok", "text": "short"}',
                '{"id": "long", "text": "much longer than ten"}',
                f'{{"id": "{long_id}", "text": "short"}}',
                '{"id": "nul", "text": "short", "note": "a\\u0000b"}',
                '{"id": "nan", "text": "short", "score": NaN}',
                '{"id": "t", "text": "short", "title": 5}',
                '{"id": "lab", "text": "short", "labels": [1]}',
            ]
        ),
    )
    job = _import(project, lead, path)

    reasons = _reasons(job)
    assert reasons[2] == "text has 20 characters; the limit is 10"
    assert reasons[3] == "id is longer than 255 characters"
    assert reasons[4] == "a NUL byte (\\x00) in metadata, which the database cannot store"
    assert reasons[5].startswith("metadata that is not JSON serialisable")
    assert reasons[6] == "title must be a string, not a number"
    assert reasons[7] == "labels must be category names, not a number"
    assert job.rows_bad == 6 and Item.objects.count() == 0


def test_only_the_first_errors_are_kept_but_all_are_counted(project, lead, tmp_path, settings):
    settings.GOLDSET = {**settings.GOLDSET, "IMPORT_MAX_ERRORS_KEPT": 2}
    path = _file(tmp_path, "many.csv", "id,text\n" + "".join(f"{i},\n" for i in range(5)))

    job = _import(project, lead, path)

    assert job.rows_bad == 5 and len(job.errors) == 2
    assert [e["line"] for e in job.errors] == [2, 3]
    assert Item.objects.count() == 0


# File-level problems -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "no_header.csv",
            "No column for id and text (looked for id: id, external_id, item_id; "
            "text: text, content, body). Columns found: 'one', 'Some text without "
            "a header row'.",
        ),
        ("not_parquet.parquet", "This is not a valid Parquet file ("),
        ("header_only.csv", "The file has no rows to import. Nothing was imported."),
    ],
)
def test_file_level_problems_fail_the_job(project, lead, name, message):
    job = _import(project, lead, FIXTURES / name)

    assert job.status == ImportJob.Status.FAILED
    assert message in job.message
    assert Item.objects.count() == 0


def test_missing_mapped_column_names_it_and_lists_the_columns(project, lead):
    job = _import(project, lead, FIXTURES / "good.csv", mapping={"text": "body"})

    assert job.status == ImportJob.Status.FAILED
    assert "The column 'body' mapped to text is not in the file." in job.message
    assert "Columns found: 'id', 'text', 'url', 'title', 'labels', 'source', 'lang'" in job.message
    assert Item.objects.count() == 0


def test_missing_text_column(project, lead, tmp_path):
    job = _import(project, lead, _file(tmp_path, "x.csv", "id,words\n1,hello\n"))

    assert "No column for text" in job.message and "'words'" in job.message
    assert Item.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The file is empty; nothing was imported."),
        ("notes.txt", b"id,text\n1,a\n", "Unknown file type .txt"),
    ],
)
def test_unusable_uploads_are_refused_before_a_job_exists(
    project, lead, tmp_path, name, content, message
):
    with pytest.raises(InvalidInput) as exc:
        import_job_create(
            project=project,
            created_by=lead,
            uploaded_file=_file(tmp_path, name, content),
            enqueue=False,
        )

    assert message in exc.value.message
    assert ImportJob.objects.count() == 0 and Item.objects.count() == 0


def test_file_over_the_size_limit_is_refused(project, lead, settings):
    settings.GOLDSET = {**settings.GOLDSET, "IMPORT_MAX_FILE_BYTES": 100}

    with pytest.raises(InvalidInput) as exc:
        import_job_create(
            project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
        )

    assert "the limit is 100 bytes" in exc.value.message
    assert ImportJob.objects.count() == 0


def test_unknown_mapping_key_is_refused(project, lead):
    with pytest.raises(InvalidInput, match="Unknown mapping key"):
        import_job_create(
            project=project,
            created_by=lead,
            uploaded_file=FIXTURES / "good.csv",
            mapping={"body": "text"},
            enqueue=False,
        )
    assert ImportJob.objects.count() == 0


# Re-imports --------------------------------------------------------------------------------


def test_same_file_again_is_a_conflict_and_imports_nothing_twice(project, lead, media):
    first = _import(project, lead, FIXTURES / "good.csv")

    with pytest.raises(Conflict) as exc:
        import_job_create(
            project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
        )

    assert f"already imported on {first.finished_at:%Y-%m-%d}" in exc.value.message
    assert f"as import #{first.pk}; nothing was imported again." in exc.value.message
    assert Item.objects.count() == 3 and ImportJob.objects.count() == 1
    assert len(list(Path(media).rglob("*.csv"))) == 1  # the refused copy is not kept


def test_edited_file_skips_unchanged_rows_and_adds_new_ones(project, lead, tmp_path):
    _import(project, lead, _file(tmp_path, "v1.csv", "id,text\n1,One.\n2,Two.\n"))
    before = Item.objects.get(external_id="1")

    job = _import(project, lead, _file(tmp_path, "v2.csv", "id,text\n1,One.\n2,Two.\n3,Three.\n"))

    assert job.status == ImportJob.Status.DONE
    assert (job.rows_imported, job.rows_unchanged, job.rows_bad) == (1, 2, 0)
    assert "1 item." in job.message and "2 unchanged" in job.message
    assert Item.objects.count() == 3
    assert Item.objects.get(external_id="1").import_job_id == before.import_job_id


def test_existing_id_with_different_text_is_a_bad_row(project, lead, tmp_path):
    ItemFactory(project=project, external_id="1", text="Old text.")

    job = _import(project, lead, _file(tmp_path, "x.csv", "id,text\n1,New text.\n2,Two.\n"))

    assert _reasons(job) == {2: "id '1' already exists in the project with different text (or URL)"}
    assert Item.objects.get(external_id="1").text == "Old text."
    assert Item.objects.count() == 1


def test_existing_ids_in_another_project_do_not_count(project, lead, tmp_path):
    ItemFactory(external_id="1", text="Elsewhere.")

    job = _import(project, lead, _file(tmp_path, "x.csv", "id,text\n1,Here.\n"))

    assert job.status == ImportJob.Status.DONE and job.rows_imported == 1


def test_existing_check_works_across_chunks(project, lead, tmp_path, monkeypatch):
    monkeypatch.setattr(import_jobs, "EXISTING_CHUNK", 2)
    _import(project, lead, _file(tmp_path, "a.csv", "id,text\n1,A\n2,B\n3,C\n"))

    job = _import(
        project,
        lead,
        _file(tmp_path, "b.csv", "id,text\n1,A\n2,B\n3,changed\n4,D\n5,E\n"),
        skip_bad_rows=True,
    )

    assert (job.rows_imported, job.rows_unchanged, job.rows_bad) == (2, 2, 1)
    assert _reasons(job) == {4: "id '3' already exists in the project with different text (or URL)"}
    assert Item.objects.count() == 5


# All or nothing, claims, tasks ---------------------------------------------------------------


def test_an_id_inserted_by_someone_else_meanwhile_rolls_back_everything(
    project, lead, tmp_path, monkeypatch
):
    original = import_jobs._check_pass

    def check_then_race(*args, **kwargs):
        checked = original(*args, **kwargs)
        ItemFactory(project=project, external_id="2", text="Inserted by another import.")
        return checked

    ItemFactory(project=project, external_id="0", text="Already here.")  # the two-pass path
    monkeypatch.setattr(import_jobs, "_check_pass", check_then_race)
    job = _import(project, lead, _file(tmp_path, "x.csv", "id,text\n1,One.\n2,Two.\n3,Three.\n"))

    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith("Another import added some of these ids while this one ran")
    assert job.rows_imported == 0
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["0", "2"]


def test_a_job_runs_once_even_when_the_task_is_delivered_twice(project, lead):
    job = import_job_create(
        project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )

    item_import_task(job.pk)
    item_import_task(job.pk)

    assert Item.objects.count() == 3
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE


def test_a_running_job_is_not_claimed_again(project, lead):
    job = import_job_create(
        project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)

    result = import_job_run(job_id=job.pk)

    assert result.status == ImportJob.Status.RUNNING and Item.objects.count() == 0


def test_create_sends_the_task_on_commit(project, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_job_create(
            project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv"
        )

    assert len(callbacks) == 1
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE  # eager in tests
    assert Item.objects.count() == 3


def test_progress_is_written_to_the_cache(project, lead):
    from django.core.cache import cache

    job = _import(project, lead, FIXTURES / "good.csv")

    state = cache.get(f"import-progress:{job.pk}")
    assert state == {
        "status": "done",
        "phase": "done",
        "rows_processed": 3,
        "rows_total": 3,
        "percent": 100.0,
    }


def test_missing_stored_file_fails_clearly(project, lead):
    job = import_job_create(
        project=project, created_by=lead, uploaded_file=FIXTURES / "good.csv", enqueue=False
    )
    Path(job.file.path).unlink()

    job = import_job_run(job_id=job.pk)

    assert job.status == ImportJob.Status.FAILED and "nothing was imported" in job.message
    assert Item.objects.count() == 0


# The API's rows ----------------------------------------------------------------------------


def test_item_import_rows_uses_the_same_validation(project, lead):
    rows = [
        {"id": "r1", "text": "Row one.", "labels": ["hate"], "lang": "en"},
        {"id": "r2", "text": ""},
        "not an object",
        {"id": "r1", "text": "Again."},
    ]

    failed = item_import_rows(project=project, rows=rows, created_by=lead, skip_bad_rows=False)
    assert failed.status == ImportJob.Status.FAILED
    assert _reasons(failed) == {
        2: "empty text (column 'text')",
        3: "is a JSON string, not an object",
        4: "id 'r1' also on line 1",
    }
    assert Item.objects.count() == 0

    done = item_import_rows(project=project, rows=rows, created_by=lead, skip_bad_rows=True)
    assert done.status == ImportJob.Status.DONE and done.rows_imported == 1
    item = Item.objects.get()
    assert (item.prior_labels, item.metadata, item.import_job_id) == (
        ["Hate"],
        {"lang": "en"},
        done.pk,
    )


def test_item_import_rows_refuses_a_non_list(project, lead):
    with pytest.raises(InvalidInput):
        item_import_rows(project=project, rows={"id": 1}, created_by=lead, skip_bad_rows=False)
    with pytest.raises(InvalidInput):
        item_import_rows(project=project, rows=[], created_by=lead, skip_bad_rows=False)
    assert ImportJob.objects.count() == 0


def test_lone_surrogate_escape_and_copy_special_characters(project, lead, tmp_path):
    path = _file(
        tmp_path,
        "x.jsonl",
        '{"id": "s1", "text": "bad \\ud800 escape"}\n'
        '{"id": "t\\tab", "text": "back\\\\slash, tab\\t, CR\\r, newline\\n end", '
        '"title": "\\\\N", "note": "a\\tb"}\n',
    )
    job = _import(project, lead, path, skip_bad_rows=True)

    assert _reasons(job) == {
        1: "characters that are not valid Unicode (a lone surrogate such as \\ud800)"
    }
    item = Item.objects.get()
    assert item.external_id == "t\tab"
    assert item.text == "back\\slash, tab\t, CR\r, newline\n end"
    assert item.title == "\\N"  # not NULL: COPY escapes the backslash
    assert item.metadata == {"note": "a\tb"}


@pytest.mark.postgres
def test_postgres_fast_path_leaves_triggers_on_and_keys_valid(project, lead):
    from django.db import connection

    job = _import(project, lead, FIXTURES / "good.csv")

    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"
        cursor.execute(
            "SELECT count(*) FROM annotation_item i JOIN annotation_project p "
            "ON p.id = i.project_id JOIN annotation_importjob j ON j.id = i.import_job_id "
            "WHERE p.id = %s AND j.id = %s",
            [project.pk, job.pk],
        )
        assert cursor.fetchone()[0] == 3


@pytest.mark.postgres
def test_postgres_without_the_privilege_checks_keys_per_row(project, lead, settings):
    settings.GOLDSET = {**settings.GOLDSET, "IMPORT_CHECK_FOREIGN_KEYS_ONCE": False}

    job = _import(project, lead, FIXTURES / "good.csv")

    assert job.status == ImportJob.Status.DONE and Item.objects.count() == 3


def test_malformed_csv_stops_the_file_and_imports_nothing(project, lead, tmp_path):
    path = _file(tmp_path, "x.csv", 'id,text\n1,Fine.\n2,"never closed\n3,More.\n')

    job = _import(project, lead, path, skip_bad_rows=True)

    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith("line 3: malformed CSV (")
    assert "Nothing was imported." in job.message
    assert Item.objects.count() == 0
