"""API tokens that expire and can be revoked.

A token works for ``FACECASE_TOKEN_TTL_DAYS`` (default 30) after it was issued; then requests with it get 401 and
``POST /api/token/`` issues a new one. A user revokes their own token with ``POST /api/token/revoke/``; an admin
revokes anyone's with ``POST /api/users/<id>/token/revoke/``. Issuing and revoking are audited. Failed logins at
``/api/token/`` count towards the same per-user and per-address lockout as the login page (django-axes).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facecase.api import TokenInput
from facecase.authentication import token_expires_at
from facecase.roles import is_admin
from facecase.services import audit_record


@transaction.atomic
def token_issue(*, user: Any) -> Token:
    """The user's current token, or a new one when there is none or it expired (the expired key stops existing)."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and timezone.now() < token_expires_at(token):
        return token
    if token is not None:
        token.delete()
    token = Token.objects.create(user=user)
    audit_record(actor=user, verb="token_issue", object_type="authtoken.token", object_id=user.pk,
                 details={"user": user.get_username(), "expires_at": token_expires_at(token).isoformat()})
    return token


@transaction.atomic
def token_revoke(*, actor: Any, user: Any) -> bool:
    """Delete ``user``'s token (requests with it get 401 at once). ``actor`` is the user or an admin."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=actor, verb="token_revoke", object_type="authtoken.token", object_id=user.pk,
                     details={"user": user.get_username(), "by": "self" if actor.pk == user.pk else "admin"})
    return bool(deleted)


TokenOutput = inline_serializer("TokenOutput", {"token": serializers.CharField(),
                                                "expires_at": serializers.DateTimeField()})


class TokenObtainApi(APIView):
    """Exchange a username and password for the user's API token (send it as ``Authorization: Token <key>``)."""

    authentication_classes: list[Any] = []  # credentials are in the body; a stale token header must not turn this
    permission_classes: list[Any] = []  # into a 403
    parser_classes = (parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser)
    serializer_class = AuthTokenSerializer

    @extend_schema(request=TokenInput, responses={200: TokenOutput, 429: OpenApiTypes.OBJECT}, description=(
        "Exchange a username and password for the user's API token (send it as `Authorization: Token <key>`); "
        "it expires at `expires_at`. Wrong credentials are a 400: "
        '`{"non_field_errors": ["Unable to log in with provided credentials."]}`; repeated failures for a user or '
        "an address are a 429."))
    def post(self, request: Request) -> Response:
        # django-axes marks a locked-out attempt on the request it is given, which here is DRF's wrapper, not the
        # Django request its middleware answers 429 for: ask it first, on the Django request.
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Expected an object with username and password."]})
        if not AxesProxyHandler.is_allowed(request._request, {"username": request.data.get("username")}):
            raise Throttled(detail="Too many failed logins for this user or address; try again later.")
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token = token_issue(user=serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": token_expires_at(token)})


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        token_revoke(actor=request.user, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserTokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        if not is_admin(request.user):
            raise PermissionDenied("Only admins revoke other users' tokens.")
        user = get_object_or_404(get_user_model(), pk=pk)
        token_revoke(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
