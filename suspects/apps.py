from django.apps import AppConfig


class SuspectsConfig(AppConfig):
    name = "suspects"
    verbose_name = "Suspect registry"
