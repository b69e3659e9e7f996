from django.apps import AppConfig


class FacesearchConfig(AppConfig):
    name = "facesearch"
    verbose_name = "Face search and unknown-person profiles"
