"""Exports of published versions: CSV, JSON Lines, Parquet and a Hugging Face folder (zip)."""

from .jobs import export_job_create, export_job_run

__all__ = ["export_job_create", "export_job_run"]
