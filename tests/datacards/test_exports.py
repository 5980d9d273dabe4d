"""Exports: read back equal to the version, byte-identical again, Hugging Face folder, splits,
bad input, downloads and a real worker."""

import csv
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test import Client

from annotation.errors import Conflict, InvalidInput
from annotation.models import Role
from datacards.canonical import ROW_COLUMNS, iso, record
from datacards.models import ExportJob, VersionItem
from datacards.services.exports import export_job_create, export_job_run
from datacards.services.exports.splits import SplitPlanner, group_key
from datacards.services.exports.write import ExportSpec, export_write
from tests.factories import frozen_version, labeled_item, member

FORMATS = ("csv", "jsonl", "parquet", "hf")


@pytest.fixture
def published(dataset, scientist):
    return frozen_version(dataset.project, scientist, publish=True)


def expected_records(version):
    stored = VersionItem.objects.filter(version=version).values_list(*ROW_COLUMNS)
    return sorted((record(r) for r in stored), key=lambda r: r["id"])


def run(version, user, fmt, **options):
    job, _ = export_job_create(version=version, user=user, format=fmt, **options)
    job = export_job_run(job_id=job.pk)
    assert job.status == "done", job.error
    return job


def test_jsonl_is_the_canonical_rows_and_hashes_to_the_version(published, scientist):
    job = run(published, scientist, "jsonl")
    data = Path(job.file.path).read_bytes()

    assert hashlib.sha256(data).hexdigest() == published.content_hash == job.file_sha256
    assert [json.loads(line) for line in data.decode().splitlines()] == expected_records(published)


def test_parquet_reads_back_equal_to_the_version(published, scientist):
    job = run(published, scientist, "parquet")

    table = pq.read_table(job.file.path)
    rows = table.to_pylist()
    for row in rows:
        row["gold_decided_at"] = iso(row["gold_decided_at"])
        row["metadata"] = json.loads(row["metadata"])

    assert rows == expected_records(published)
    assert table.schema.field("gold_decided_at").type.tz == "UTC"
    frame = pd.read_parquet(job.file.path)
    assert list(frame["id"]) == [r["id"] for r in expected_records(published)]
    assert frame["weight"].tolist() == [1.0, 1.0, 1.0, 4.0, 1.0]


def test_csv_reads_back_equal_to_the_version(published, scientist):
    job = run(published, scientist, "csv")

    frame = pd.read_csv(job.file.path, dtype=str, keep_default_na=False)
    nested = {"metadata", "labels", "annotations", "soft_labels"}
    numbers = {"soft_none_of_these", "inclusion_probability", "weight"}
    got = []
    for row in frame.to_dict("records"):
        for key in nested:
            row[key] = json.loads(row[key])
        for key in numbers:
            row[key] = float(row[key]) if row[key] else None
        row["none_of_these"] = row["none_of_these"] == "true"
        row["gold_decided_by"] = row["gold_decided_by"] or None
        row["selection_run_id"] = int(row["selection_run_id"]) if row["selection_run_id"] else None
        row["gold_guidelines_version"] = int(row["gold_guidelines_version"])
        got.append(row)

    assert got == expected_records(published)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("split", ["none", "train_test"])
def test_export_again_gives_the_same_bytes(published, fmt, split, tmp_path):
    spec = ExportSpec(format=fmt, split=split, test_fraction=0.4, seed=3)
    outputs = []
    for attempt in ("one", "two"):
        folder = tmp_path / attempt
        folder.mkdir()
        path, _counts = export_write(
            version=published, spec=spec, folder=folder, progress=lambda *a: None
        )
        outputs.append(path.read_bytes())

    assert outputs[0] == outputs[1]


def test_a_new_job_after_deleting_the_old_one_writes_the_same_file(published, scientist):
    first = run(published, scientist, "hf", split="train_test", test_fraction=0.4, seed=1)
    first_bytes = Path(first.file.path).read_bytes()
    Path(first.file.path).unlink()
    ExportJob.objects.filter(pk=first.pk).delete()

    second = run(published, scientist, "hf", split="train_test", test_fraction=0.4, seed=1)

    assert second.pk != first.pk
    assert Path(second.file.path).read_bytes() == first_bytes


def test_the_same_options_reuse_the_job(published, scientist):
    first = run(published, scientist, "csv")

    again, created = export_job_create(version=published, user=scientist, format="csv")

    assert not created and again.pk == first.pk


def test_hugging_face_folder_loads_offline(published, scientist, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="dev dependency: Hugging Face datasets")
    mlc = pytest.importorskip("mlcroissant", reason="dev dependency: mlcroissant")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    job = run(published, scientist, "hf")

    with zipfile.ZipFile(job.file.path) as archive:
        names = archive.namelist()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())
        archive.extractall(tmp_path / "unzipped")
    root = f"{published.card['project']['slug']}-v1"
    assert names == [f"{root}/README.md", f"{root}/croissant.json", f"{root}/data/test.parquet"]
    folder = tmp_path / "unzipped" / root

    loaded = datasets.load_dataset(str(folder))

    rows = loaded["test"].to_list()
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert rows[1]["labels"] == ["Violence"] and rows[3]["weight"] == 4.0
    assert rows[0]["annotations"][0]["labels"] == ["Hate"]
    croissant = mlc.Dataset(jsonld=str(folder / "croissant.json"))
    assert len(list(croissant.records("rows"))) == 5


# --- splits ---------------------------------------------------------------------------------


def test_near_duplicates_share_a_group():
    assert group_key("Buy NOW!!! only 100$", "1") == group_key("buy now only 250 $", "2")
    assert group_key("Ｆｕｌｌ width", "1") == group_key("full   WIDTH", "2")
    assert group_key("different text", "1") != group_key("other text", "2")
    assert group_key("!!!", "1") != group_key("???", "2")  # empty after normalising: own group


def _planner(rows):
    planner = SplitPlanner(class_positives={"Rare": 10, "Common": 40, "__none__": 20})
    for external_id, text, labels in rows:
        planner.add(external_id=external_id, text=text, labels_json=json.dumps(labels),
                    none_of_these=not labels)  # fmt: skip
    return planner


def test_splits_are_stratified_keep_duplicates_together_and_follow_the_seed():
    rows = [(f"r{i}", f"rare post {chr(97 + i)}", ["Rare", "Common"]) for i in range(10)]
    rows += [
        (f"c{i}", f"common {chr(97 + i // 26)}{chr(97 + i % 26)}", ["Common"]) for i in range(40)
    ]
    rows += [(f"d{i}", f"Spam offer NUMBER {i}!!", []) for i in range(20)]  # one group
    planner = _planner(rows)

    is_test = planner.assign(test_fraction=0.3, seed=5)

    by_id = dict(zip((r[0] for r in rows), is_test, strict=True))
    assert sum(by_id[f"r{i}"] for i in range(10)) == 3  # 30% of the rare stratum
    assert sum(by_id[f"c{i}"] for i in range(40)) == 12
    assert len({by_id[f"d{i}"] for i in range(20)}) == 1  # duplicates never split
    assert (planner.assign(test_fraction=0.3, seed=5) == is_test).all()
    assert not (planner.assign(test_fraction=0.3, seed=6) == is_test).all()


def test_split_export_counts_and_column(dataset, scientist):
    for i in range(20):
        labeled_item(dataset.project, [], [dataset.cats["Hate"]], external_id=f"x{i:02d}",
                     text=f"Post number {i} is {'ab'[i % 2]}{i}")  # fmt: skip
    version = frozen_version(dataset.project, scientist, publish=True)

    job = run(version, scientist, "parquet", split="train_test", test_fraction=0.25, seed=2)

    frame = pd.read_parquet(job.file.path)
    assert job.split_counts == frame["split"].value_counts().to_dict()
    assert set(frame["split"]) == {"train", "test"}
    # "Post number N is aN" / "bN" normalise to two texts: each stays on one side.
    x = frame[frame["id"].str.startswith("x")]
    assert x.groupby(x["text"].str.contains(" is a"))["split"].nunique().max() == 1


# --- bad input ------------------------------------------------------------------------------


def test_a_draft_cannot_be_exported(dataset, scientist):
    draft = frozen_version(dataset.project, scientist)

    with pytest.raises(Conflict, match="publish it before exporting"):
        export_job_create(version=draft, user=scientist, format="csv")
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "xlsx"}, "Unknown export format"),
        ({"format": "csv", "split": "kfold"}, "Unknown split"),
        ({"format": "csv", "split": "train_test", "test_fraction": 1.5}, "between 0.01"),
        ({"format": "csv", "split": "train_test", "seed": "x"}, "seed an integer"),
    ],
)
def test_bad_export_options_are_refused(published, scientist, options, message):
    with pytest.raises(InvalidInput, match=message):
        export_job_create(version=published, user=scientist, **options)
    assert not ExportJob.objects.exists()


def test_rows_changed_behind_the_database_are_not_exported(published, scientist):
    """Even with the trigger gone (a superuser's manual edit), the export checks the hash."""
    table = VersionItem._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        else:
            cursor.execute("DROP TRIGGER datacards_rows_no_update")
        cursor.execute(f"UPDATE {table} SET text = 'tampered' WHERE external_id = 'a'")  # noqa: S608
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")

    job, _ = export_job_create(version=published, user=scientist, format="csv")
    job = export_job_run(job_id=job.pk)

    assert job.status == "failed" and "no longer give its content hash" in job.error
    assert not job.file


# --- downloads ------------------------------------------------------------------------------


def test_download_streams_the_file_to_readers_only(dataset, published, scientist, lead):
    job = run(published, scientist, "csv")
    slug = dataset.project.slug
    page = f"/p/{slug}/versions/1/exports/{job.pk}/download/"
    api = f"/api/projects/{slug}/versions/1/exports/{job.pk}/download/"

    for user in (scientist, lead):
        client = Client()
        client.force_login(user)
        for url in (page, api):
            response = client.get(url)
            assert response.status_code == 200
            body = b"".join(response.streaming_content)
            assert hashlib.sha256(body).hexdigest() == job.file_sha256
            assert "attachment" in response["Content-Disposition"]
    reader = csv.reader(io.StringIO(body.decode()))
    assert next(reader)[0] == "id"

    annotator = Client()
    annotator.force_login(member(dataset.project, Role.ANNOTATOR))
    assert annotator.get(page).status_code == 403
    assert annotator.get(api).status_code == 403
    outsider = Client()
    outsider.force_login(member(frozen_project_other(), Role.LEAD))
    assert outsider.get(page).status_code == 404
    assert Client().get(page).status_code == 302
    assert Client().get(api).status_code == 401
    missing = Client()
    missing.force_login(scientist)
    assert missing.get(f"/p/{slug}/versions/1/exports/999/download/").status_code == 404


def frozen_project_other():
    from tests.factories import ProjectFactory

    return ProjectFactory()


# --- a real worker --------------------------------------------------------------------------


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker writes export files under the same media folder as the test reads."""
    monkeypatch.setenv("GOLDSET_MEDIA_ROOT", str(settings.MEDIA_ROOT))


def _wait(fetch, done, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out: {value}")


@pytest.mark.real_services
@pytest.mark.timeout(240)
def test_freeze_and_export_through_a_real_worker(shared_media, celery_worker, dataset, scientist):
    client = Client()
    client.force_login(scientist)
    base = f"/api/projects/{dataset.project.slug}/versions/"

    assert client.post(base).status_code == 202
    detail = _wait(lambda: client.get(f"{base}1/").json(), lambda d: d["status"] != "freezing")
    assert detail["status"] == "draft", detail["error"]
    assert client.post(f"{base}1/publish/").status_code == 200
    created = client.post(f"{base}1/exports/", {"format": "jsonl"}, content_type="application/json")
    assert created.status_code == 202
    job = _wait(
        lambda: client.get(f"{base}1/exports/{created.json()['id']}/").json(),
        lambda j: j["status"] in ("done", "failed"),
    )

    assert job["status"] == "done", job["error"]
    body = b"".join(client.get(f"{base}1/exports/{job['id']}/download/").streaming_content)
    assert hashlib.sha256(body).hexdigest() == detail["content_hash"]
