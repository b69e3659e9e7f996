from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """Evidence leaving FaceCase (signed packages) and the re-check of everything stored: it reads cases, footage,
    sightings, alerts and the registry, so it sits above the other apps and nothing but the URLs imports it."""

    name = "evidence"
    verbose_name = "Evidence export and integrity"
