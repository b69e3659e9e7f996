"""ASGI entry point (daphne): HTTP through Django (with static files), WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facecase.settings")
django_http = get_asgi_application()  # set up Django before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from facecase.asgi_limits import RequestSizeLimit  # noqa: E402
from facecase.consumers import EventsConsumer  # noqa: E402
from facecase.daphne_request import stop_twisted_form_parsing  # noqa: E402

stop_twisted_form_parsing()

websocket_urlpatterns = [path("ws/events/", EventsConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        # The app ships a few small static files; serving them here keeps one process and no extra server.
        "http": RequestSizeLimit(ASGIStaticFilesHandler(django_http)),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
