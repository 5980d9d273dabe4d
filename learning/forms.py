"""The learning settings form. It parses and type-checks only; the service owns the rules
(shares sum to 1, audit share at least its floor, ranges), so the page and the API give the
same messages."""

from django import forms

from .models import LearningConfig
from .selectors import SeedRow

SHARE_HELP = "Share of each batch, 0–1; the seven shares add up to 1."
INT_FIELDS = (
    "retrain_every_labels",
    "retrain_every_minutes",
    "batch_size",
    "min_gold_labels",
    "seed",
)
SHARES = ("uncertainty", "margin", "entropy", "multilabel", "boundary", "rare", "audit")
BOOL_FIELDS = ("enabled", "hashing", "url_tokens")


def _share_field(label: str) -> forms.FloatField:
    return forms.FloatField(
        label=label, widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"})
    )


class LearningSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Retrain automatically")
    retrain_every_labels = forms.IntegerField(
        label="Every N new gold labels", help_text="0: never by count."
    )
    retrain_every_minutes = forms.IntegerField(
        label="Every T minutes (with new gold labels)", help_text="0: never by time."
    )
    batch_size = forms.IntegerField(
        label="Batch size", help_text="Items each run puts at the head of the queue (1–10,000)."
    )
    min_gold_labels = forms.IntegerField(
        label="Gold labels needed to train",
        help_text="Below this a run does a cold start: keyword seeds plus random items.",
    )
    share_uncertainty = _share_field("Uncertainty")
    share_margin = _share_field("Margin")
    share_entropy = _share_field("Entropy")
    share_multilabel = _share_field("Multi-label")
    share_boundary = _share_field("Category boundaries")
    share_rare = _share_field("Rare-category hunt")
    share_audit = _share_field("Random audit")
    hashing = forms.BooleanField(
        required=False, label="Hashed features", help_text="Constant memory for very large pools."
    )
    url_tokens = forms.BooleanField(required=False, label="URL and domain tokens")
    seed = forms.IntegerField(label="Random seed", help_text="Run n uses seed + n.")

    def __init__(self, *args, seed_rows: list[SeedRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.seed_rows = seed_rows
        for row in seed_rows:
            self.fields[f"seeds_{row.category_id}"] = forms.CharField(
                required=False,
                label=row.category,
                widget=forms.Textarea(attrs={"rows": 2, "placeholder": "one keyword per line"}),
            )

    @classmethod
    def for_config(cls, config: LearningConfig, seed_rows: list[SeedRow], data=None):
        initial = {name: getattr(config, name) for name in (*BOOL_FIELDS, *INT_FIELDS)}
        initial.update({f"share_{s}": getattr(config, f"share_{s}") for s in SHARES})
        initial.update({f"seeds_{r.category_id}": "\n".join(r.keywords) for r in seed_rows})
        return cls(data, initial=initial, seed_rows=seed_rows)

    def share_fields(self):
        return [self[f"share_{s}"] for s in SHARES]

    def seed_fields(self):
        return [self[f"seeds_{r.category_id}"] for r in self.seed_rows]

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in (*BOOL_FIELDS, *INT_FIELDS)}
        fields.update({f"share_{s}": data[f"share_{s}"] for s in SHARES})
        fields["seeds"] = {
            r.category_id: (data.get(f"seeds_{r.category_id}") or "").splitlines()
            for r in self.seed_rows
        }
        return fields
