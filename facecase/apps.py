from django.apps import AppConfig


class FacecaseConfig(AppConfig):
    name = "facecase"
    verbose_name = "FaceCase"
