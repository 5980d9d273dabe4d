from django.apps import AppConfig


class LearningAppConfig(AppConfig):
    """The learning app (named so it does not clash with the `LearningConfig` model)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "learning"

    def ready(self) -> None:
        # Label issues follow their adjudication cases: annotation must not import learning,
        # so learning listens to the cases' saves (learning/services/noise_issues.py).
        from django.db.models.signals import post_save

        from annotation.models import AdjudicationCase

        from .services.noise_issues import case_closed_receiver

        post_save.connect(
            case_closed_receiver, sender=AdjudicationCase, dispatch_uid="learning-label-issues"
        )
