"""`manage.py demo_setup`: the demo project, its categories, bundled items and demo users.

Idempotent: running it again (every `make run` does) changes nothing that exists.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotation.models import Item, Membership, Project, Role
from annotation.services.imports import item_import_rows
from annotation.services.projects import category_create, project_create

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

        self.stdout.write(
            self.style.SUCCESS(
                "\nDemo ready: http://127.0.0.1:8000/\n"
                f"  password for every demo user: {DEMO_PASSWORD}\n"
                "  annotators: annotator1, annotator2, annotator3  (label by keyboard)\n"
                "  lead: lead   scientist: scientist   admin: admin (Django admin)\n"
            )
        )
