from django.apps import AppConfig


class FacesearchConfig(AppConfig):
    name = "facesearch"
    verbose_name = "Face search and unknown-person profiles"

    def ready(self) -> None:
        from footage.signals import sighting_changed, sighting_stored

        sighting_stored.connect(_on_sighting_stored, dispatch_uid="facesearch.sighting_stored")
        sighting_changed.connect(_on_sighting_changed, dispatch_uid="facesearch.sighting_changed")


def _on_sighting_stored(sender: object, sighting_id: int, **kwargs: object) -> None:
    from facesearch.services import sighting_stored

    sighting_stored(sighting_id)


def _on_sighting_changed(sender: object, sighting_id: int, **kwargs: object) -> None:
    from facesearch.services import sighting_changed

    sighting_changed(sighting_id)
