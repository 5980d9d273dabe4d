from django.apps import AppConfig


class DatacardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "datacards"
