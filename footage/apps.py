from django.apps import AppConfig


class FootageConfig(AppConfig):
    name = "footage"
    verbose_name = "Footage and alerts"

    def ready(self) -> None:
        # What the core app's media view and pages show of footage, without the core app importing this app.
        from facecase.extensions import MediaKind, register_media, register_page_context
        from footage import selectors, views

        register_media("footage", MediaKind(selectors.footage_get_for_user, {"original": "sha256"}, audit=True))
        register_media("sighting", MediaKind(
            selectors.sighting_get_for_user,
            {"frame": None, "raw_crop": "raw_crop_sha256", "enhanced_crop": "enhanced_crop_sha256",
             "averaged_chip": "averaged_chip_sha256"}, audit=False,
        ))
        # A live camera alert's evidence clip (cameras/runner.py writes it; sha256 re-checked on every read).
        register_media("alert", MediaKind(selectors.alert_get_for_user, {"clip": "clip_sha256"}, audit=True))
        register_page_context("home", views.home_context)
        register_page_context("case_detail", views.case_page_context)
        register_page_context("header", views.header_context)
