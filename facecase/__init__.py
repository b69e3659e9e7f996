"""FaceCase project package: settings, URLs, ASGI, and the core app (cases, roles, audit log, events)."""
