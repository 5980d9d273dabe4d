"""Item import from CSV, JSON Lines and Parquet files, and from rows sent to the API.

- `readers`: streaming readers, one record at a time, with line numbers.
- `validate`: column mapping and per-row validation (shared by every entry point).
- `write`: COPY on PostgreSQL, batched bulk_create on SQLite.
- `jobs`: the two passes (validate everything, then insert in one transaction) and progress.
- `create`: storing an upload as a job, and the API's synchronous bulk import.
"""

from .create import import_job_create, item_import_rows
from .jobs import import_execute, import_job_run, progress_key
from .validate import content_hash, priority_for

__all__ = [
    "content_hash",
    "import_execute",
    "import_job_create",
    "import_job_run",
    "item_import_rows",
    "priority_for",
    "progress_key",
]
