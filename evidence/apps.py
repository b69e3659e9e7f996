from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """Evidence leaving FaceCase (signed packages) and the re-check of everything stored: it reads cases, footage,
    sightings, alerts and the registry, so it sits above the other apps and nothing but the URLs imports it."""

    name = "evidence"
    verbose_name = "Evidence export and integrity"

    def ready(self) -> None:
        from evidence import views
        from facecase.extensions import register_page_context

        register_page_context("case_detail", views.case_exports_context)
        register_page_context("alert_detail", views.alert_exports_context)
