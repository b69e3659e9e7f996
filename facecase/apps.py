from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # The data migration creates the groups once; this puts them back after a ``flush`` (which empties every
    # table and re-emits post_migrate), e.g. between transactional tests. Permissions exist for every app only
    # once the last app's post_migrate has run, so wait for that one (apps without models get no signal).
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    from facecase.roles import sync_role_groups

    sync_role_groups(using=using)


class FacecaseConfig(AppConfig):
    name = "facecase"
    verbose_name = "FaceCase"

    def ready(self) -> None:
        post_migrate.connect(_ensure_role_groups, dispatch_uid="facecase.ensure_role_groups")
