"""Writes: every change to annotation data goes through a function here.

Split by area: `queue` (leases), `annotations` (submit, undo), `projects` (projects, label
schema, members), `imports` (files to items).
"""
