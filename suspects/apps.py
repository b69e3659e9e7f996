from django.apps import AppConfig


class SuspectsConfig(AppConfig):
    name = "suspects"
    verbose_name = "Suspect registry"

    def ready(self) -> None:
        from suspects.enrolment import connect_signals  # rebuild the gallery in the background on registry changes

        connect_signals()
