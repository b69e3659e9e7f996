from django.apps import AppConfig


class SuspectsConfig(AppConfig):
    name = "suspects"
    verbose_name = "Suspect registry"

    def ready(self) -> None:
        from facecase.extensions import MediaKind, register_media, register_page_context
        from suspects import selectors, views
        from suspects.enrolment import connect_signals

        connect_signals()  # rebuild the gallery in the background on registry changes
        register_media("suspect-photo",
                       MediaKind(selectors.suspect_photo_get_for_user, {"image": "sha256", "crop": None}, audit=True))
        register_page_context("home", views.home_context)
