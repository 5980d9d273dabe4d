"""Documents made from a version: the README.md data card (Hugging Face YAML front matter and the
Hugging Face dataset card sections, with the Data Cards Playbook's provenance, sampling and
annotation facts) and the Croissant JSON-LD with its RAI fields.

Both are pure functions of a `CardInput` (frozen card figures, the written sections, the notes up
to publication, and the files they describe): no clock, no database, so a published version
always gives the same bytes.
"""

from .common import CardInput, DataFile, card_input
from .croissant import croissant_jsonld
from .readme import readme_markdown

__all__ = ["CardInput", "DataFile", "card_input", "croissant_jsonld", "readme_markdown"]
