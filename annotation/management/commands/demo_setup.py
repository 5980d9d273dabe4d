"""`manage.py demo_setup`: the demo project, its categories, bundled items and demo users,
and a first round of labels so the adjudication pages show something: annotator1 and
annotator2 label a few items through the real queue (some agree: gold labels; some disagree or
are unsure: open cases), and one item becomes a gold question.

Idempotent: running it again (every `make run` does) changes nothing that exists.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotation.models import Assignment, Category, Item, Membership, Project, Role
from annotation.services.annotations import annotation_submit
from annotation.services.consolidation import project_settings_update
from annotation.services.gold import case_priorities_refresh
from annotation.services.gold_questions import gold_question_set
from annotation.services.imports import item_import_rows
from annotation.services.projects import category_create, project_create
from annotation.services.queue import item_claim_next

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "demo_items.jsonl"
DEMO_PASSWORD = "goldset-demo"  # noqa: S105 (printed on purpose: local demo accounts)
SLUG = "demo-web-safety"
CATEGORIES = [
    ("Adult Content", "Sexually explicit material or services, or sites for adults only.", False),
    ("Violence", "Depicts, glorifies or sells means of physical harm to people.", True),
    ("Self-Harm", "Expresses or encourages suicide, self-injury or disordered eating.", True),
    ("Hate", "Attacks people for a protected characteristic (origin, religion, …).", True),
    ("Social Media", "A post, profile or stream on a social platform.", False),
    ("Gambling", "Betting, casinos or games of chance for money.", False),
]
GUIDELINES = """# Demo guidelines

Label **what the page is**, not what it links to. Choose every category that applies.

- **Adult Content** — explicit material, or a site that requires visitors to be adults.
- **Violence** — depicts or glorifies harm to people, or sells weapons for it. News that
  *reports* violence counts only when it describes the harm in detail.
- **Self-Harm** — the author expresses intent to hurt themselves, or the page encourages it.
  Support resources and recovery stories are *not* self-harm: choose *none of these*.
- **Hate** — attacks a group for who they are. Criticism of ideas is not hate.
- **Social Media** — posts, profiles and streams on social platforms.
- **Gambling** — betting and casino sites.

Press **0** for *none of these*, **U** when you are unsure (a lead will look), **S** to skip.
"""
# external id → (annotator1's label, annotator2's label); () is "none of these", "?" unsure.
DEMO_LABELS = {
    "w-002": (("Social Media",), ("Social Media",)),
    "w-006": (("Gambling",), ("Gambling",)),
    "w-004": ((), ()),
    "w-020": (("Adult Content",), ("Adult Content",)),
    "w-013": (("Violence",), ()),
    "w-036": (("Violence",), ()),
    "w-009": ((), ("Violence",)),
    "w-019": (("Hate", "Social Media"), ("Hate",)),
    "w-003": (("Self-Harm", "?"), ()),
}
DEMO_GOLD_QUESTION = "w-011"  # a support page: "none of these" by the guidelines
DEMO_GOLD_QUESTION_RATE = 0.1

USERS = [
    ("lead", Role.LEAD),
    ("annotator1", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
    ("annotator3", Role.ANNOTATOR),
    ("scientist", Role.SCIENTIST),
]


class Command(BaseCommand):
    help = "Create the demo project with bundled items and demo users (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        with transaction.atomic():
            users = {}
            for username, _role in USERS:
                user, created = User.objects.get_or_create(username=username)
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                users[username] = user
            users["lead"].user_permissions.add(
                Permission.objects.get(codename="add_project", content_type__app_label="annotation")
            )
            admin, created = User.objects.get_or_create(
                username="admin", defaults={"is_staff": True, "is_superuser": True}
            )
            if created:
                admin.set_password(DEMO_PASSWORD)
                admin.save()

            project = Project.objects.filter(slug=SLUG).first()
            if project is None:
                project = project_create(
                    created_by=users["lead"],
                    name="Demo: web content safety",
                    slug=SLUG,
                    description="Fifty short web pages and posts to try goldset with.",
                    guidelines=GUIDELINES,
                    multi_label=True,
                    overlap=2,
                )
                for name, description, sensitive in CATEGORIES:
                    category_create(
                        project=project, name=name, description=description, sensitive=sensitive
                    )
            for username, role in USERS:
                Membership.objects.get_or_create(
                    user=users[username], project=project, defaults={"role": role}
                )
            for user in users.values():
                Token.objects.get_or_create(user=user)

        if not Item.objects.filter(project=project).exists():
            rows = [json.loads(line) for line in DEMO_FILE.read_text().splitlines() if line]
            job = item_import_rows(
                project=project, rows=rows, created_by=users["lead"], skip_bad_rows=False
            )
            self.stdout.write(f"Imported {job.rows_imported} demo items.")
        if not Assignment.objects.filter(project=project).exists():
            # Nobody has touched the queue yet (a fresh demo): label a first round.
            self._first_labels(project, users)

        self.stdout.write(
            self.style.SUCCESS(
                "\nDemo ready: http://127.0.0.1:8000/\n"
                f"  password for every demo user: {DEMO_PASSWORD}\n"
                "  annotators: annotator1, annotator2, annotator3  (label by keyboard)\n"
                "  lead: lead   scientist: scientist   admin: admin (Django admin)\n"
            )
        )

    def _first_labels(self, project: Project, users: dict) -> None:
        """annotator1 and annotator2 label DEMO_LABELS through the real queue (the items are
        put first in it), then the lead marks one gold question."""
        names = {c.name: c.pk for c in Category.objects.filter(project=project)}
        planned = Item.objects.filter(project=project, external_id__in=DEMO_LABELS)
        for rank, item in enumerate(planned.order_by("external_id")):
            Item.objects.filter(pk=item.pk).update(
                priority=2.0 - rank / 100, selection_reason=Item.SelectionReason.MANUAL
            )
        for who in (0, 1):
            user = users[f"annotator{who + 1}"]
            for step in range(len(DEMO_LABELS)):
                claim = item_claim_next(project=project, annotator=user)
                label = DEMO_LABELS[claim.item.external_id][who]
                annotation_submit(
                    project=project,
                    annotator=user,
                    item_id=claim.item.pk,
                    category_ids=[names[n] for n in label if n != "?"],
                    none_of_these=not [n for n in label if n != "?"],
                    unsure="?" in label,
                    comment="Sounds hopeless; not sure it is self-harm." if "?" in label else "",
                    time_spent_ms=4000 + 900 * step + 1500 * who,
                    idempotency_key=f"demo-{who}-{claim.item.external_id}",
                )
        gold_item = Item.objects.get(project=project, external_id=DEMO_GOLD_QUESTION)
        gold_question_set(
            project=project, item_id=gold_item.pk, lead=users["lead"], category_ids=[],
            none_of_these=True,
        )  # fmt: skip
        project_settings_update(project=project, gold_question_rate=DEMO_GOLD_QUESTION_RATE)
        # Priorities were computed as the few gold labels arrived: align them with the end state.
        case_priorities_refresh(project_id=project.pk)
        self.stdout.write("Labeled 9 demo items twice (4 gold labels, 5 open cases).")
        self._learning(project, names)

    def _learning(self, project: Project, names: dict) -> None:
        """Small batches and keyword seeds, so "Retrain now" on the learning page does something
        visible with the demo's few labels. (The demo spans the apps; the annotation app itself
        never imports learning.)"""
        from learning.services.config import learning_config_update

        seeds = {
            names["Gambling"]: ["casino", "bonus", "bet"],
            names["Social Media"]: ["followers", "retweet"],
            names["Self-Harm"]: ["pointless", "hurt myself"],
            names["Violence"]: ["fighting", "attack"],
        }
        learning_config_update(
            project=project,
            batch_size=10,
            min_gold_labels=10,
            retrain_every_labels=5,
            seeds=seeds,
        )
