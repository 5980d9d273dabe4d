"""Forms of the lead pages. They parse and type-check input only; the services own the rules
(ranges, unique names and hotkeys, reserved keys, the last lead), so a rule lives in one place
and the API shares it."""

from django import forms

from .models import Category, Project, Role


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


def form_errors(form: forms.Form) -> str:
    """All of a form's errors as one line for a message."""
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ") if field in form.fields else ""
        for error in errors:
            parts.append(f"{label.capitalize()}: {error}" if label else str(error))
    return " ".join(parts)
