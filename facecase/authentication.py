"""DRF authentication with API tokens that expire ``FACECASE_TOKEN_TTL_DAYS`` after they were issued.

Kept apart from the token views (facecase/api_tokens.py): DRF imports authentication classes while its own views
module loads, so this module must not import views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token: Token) -> datetime:
    return token.created + settings.FACECASE_TOKEN_TTL


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if timezone.now() >= token_expires_at(token):
            raise AuthenticationFailed("Token expired; request a new one at /api/token/.")
        return user, token
