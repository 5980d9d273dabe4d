"""`manage.py consolidation_rebuild <slug>`: consolidate the items of a project that have
their k annotations and no decision yet (existing data, or after a rule change). Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services.consolidation import consolidation_rebuild


class Command(BaseCommand):
    help = "Consolidate every item of a project that has its annotations and no decision."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's address (as in /p/<slug>/).")

    def handle(self, *args, **options):
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"No project '{options['slug']}'.")
        changed = consolidation_rebuild(project_id=project.pk)
        self.stdout.write(self.style.SUCCESS(f"{changed} item(s) consolidated in {project.slug}."))
