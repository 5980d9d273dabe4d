"""Forms of the lead pages. They parse and type-check input only; the services own the rules
(ranges, unique names and hotkeys, reserved keys, the last lead), so a rule lives in one place
and the API shares it."""

from django import forms

from .models import AdjudicationCase, Category, Project, Role


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    guidelines = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Markdown. Shown beside every item on the annotate page.",
    )
    multi_label = forms.BooleanField(
        required=False,
        initial=True,
        label="Multi-label",
        help_text="Several categories per item; off means exactly one.",
    )
    overlap = forms.IntegerField(
        initial=2, help_text="Independent annotations each item needs (k, 1–10)."
    )
    lease_minutes = forms.IntegerField(
        initial=10, help_text="Minutes an item stays reserved without activity (1–240)."
    )

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {key: data[key] for key in PROJECT_FORM_FIELDS}

    @classmethod
    def for_project(cls, project: Project, data=None) -> "ProjectForm":
        return cls(data, initial={key: getattr(project, key) for key in PROJECT_FORM_FIELDS})


PROJECT_FORM_FIELDS = (
    "name",
    "description",
    "guidelines",
    "multi_label",
    "overlap",
    "lease_minutes",
)


class ProjectCreateForm(ProjectForm):
    slug = forms.CharField(
        max_length=80,
        required=False,
        label="Address (slug)",
        help_text="Optional; made from the name when empty. Used in the project's URLs.",
    )
    category_names = forms.CharField(
        required=False,
        label="Categories",
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "Adult Content\nViolence"}),
        help_text="One name per line. Hotkeys are assigned 1–9, then letters.",
    )

    field_order = [
        "name",
        "slug",
        "description",
        "guidelines",
        "multi_label",
        "overlap",
        "lease_minutes",
        "category_names",
    ]

    def service_fields(self) -> dict:
        fields = super().service_fields()
        fields["slug"] = self.cleaned_data["slug"]
        fields["category_names"] = self.cleaned_data["category_names"].splitlines()
        return fields


class CategoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    hotkey = forms.CharField(max_length=1, required=False)
    order = forms.IntegerField(required=False)
    sensitive = forms.BooleanField(required=False)
    active = forms.BooleanField(required=False)

    def create_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "hotkey": data["hotkey"],
            "order": data["order"],
            "sensitive": data["sensitive"],
        }

    def update_fields(self, category: Category) -> dict:
        data = dict(self.cleaned_data)
        if data["order"] is None:
            data["order"] = category.order
        if not data["hotkey"]:
            data["hotkey"] = category.hotkey
        return data


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


class ItemFilterForm(forms.Form):
    STATES = [
        ("all", "All"),
        ("unlabeled", "Unlabeled"),
        ("in_progress", "In progress"),
        ("complete", "Complete"),
        ("adjudication", "Awaiting a lead"),
        ("gold", "Gold label set"),
    ]
    state = forms.ChoiceField(choices=STATES, required=False)
    q = forms.CharField(max_length=255, required=False, label="External id starts with")
    batch = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Import")
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, import_jobs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].choices = [("", "Any import")] + [
            (job.pk, f"#{job.pk} {job.original_name}") for job in import_jobs
        ]


class ConsolidationForm(forms.Form):
    """Consolidation and gold-question settings (settings page, beside ProjectForm). A post
    without these fields (an older form, a script) leaves them as they are."""

    consolidation_rule = forms.ChoiceField(
        required=False,
        choices=Project.ConsolidationRule.choices,
        help_text="How the k annotations of an item become its gold label; anything else goes "
        "to a lead. Majority needs k ≥ 3.",
    )
    adaptive_overlap = forms.BooleanField(
        required=False,
        label="Adaptive overlap",
        help_text="With k = 2: when the first two disagree, ask a third annotator first; the "
        "majority of the three decides.",
    )
    gold_question_rate = forms.FloatField(
        required=False,
        label="Gold-question rate",
        help_text="Share of served items that are gold questions (0 to 0.5; 0.05 = one in 20).",
    )
    gold_alert_threshold = forms.FloatField(
        required=False,
        label="Gold-question alert threshold",
        help_text="Annotators whose gold-question accuracy falls below this (0 to 1) are flagged.",
    )

    def service_fields(self) -> dict:
        if "consolidation_rule" not in self.data:
            return {}  # the fieldset was not posted (the checkbox alone cannot tell)
        data = self.cleaned_data
        return {k: data[k] for k in CONSOLIDATION_FORM_FIELDS if data[k] not in (None, "")}

    @classmethod
    def for_project(cls, project: Project, data=None) -> "ConsolidationForm":
        initial = {key: getattr(project, key) for key in CONSOLIDATION_FORM_FIELDS}
        return cls(data, initial=initial)


CONSOLIDATION_FORM_FIELDS = (
    "consolidation_rule",
    "adaptive_overlap",
    "gold_question_rate",
    "gold_alert_threshold",
)


class GoldLabelForm(forms.Form):
    """A lead's label for an item (decide a case, override, a gold question's known label).
    Only parsed here; `adjudication.validate_gold_label` owns the rules."""

    categories = forms.TypedMultipleChoiceField(coerce=int, required=False)
    none_of_these = forms.BooleanField(required=False)
    rationale = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    guideline_ref = forms.CharField(required=False, max_length=200, label="Guideline reference")

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = [(c.pk, c.name) for c in categories]


class CaseFilterForm(forms.Form):
    reason = forms.ChoiceField(required=False)
    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Any reason"), *AdjudicationCase.Reason.choices]
        self.fields["category"].choices = [("", "Any category")] + [
            (c.pk, c.name) for c in categories
        ]


def form_errors(form: forms.Form) -> str:
    """All of a form's errors as one line for a message."""
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ") if field in form.fields else ""
        for error in errors:
            parts.append(f"{label.capitalize()}: {error}" if label else str(error))
    return " ".join(parts)
