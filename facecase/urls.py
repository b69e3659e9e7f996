"""The URL configuration: the core app's pages (home, cases, audit, media) and API, and each app's own
``urlpatterns`` and ``api_urlpatterns``. The one place where the core app imports ``footage`` and ``suspects``
(an import-linter contract allows it here only). Page names (``case-list``, ``case-detail``, ``case-upload``,
``footage-detail``, ``alert-list``, ``suspect-list`` ...) are kept so older links still resolve."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import cameras.urls
import facesearch.urls
import footage.urls
import suspects.urls
from evidence import api as export_api
from evidence import views as evidence_views
from facecase import api, api_tokens, media, user_views, views

api_urlpatterns = [
    path("token/", api_tokens.TokenObtainApi.as_view(), name="token"),
    path("token/revoke/", api_tokens.TokenRevokeApi.as_view(), name="token-revoke"),
    path("users/<int:pk>/token/revoke/", api_tokens.UserTokenRevokeApi.as_view(), name="user-token-revoke"),
    path("cases/", api.CaseListCreateApi.as_view(), name="case-list"),
    path("cases/<int:pk>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:pk>/export/", export_api.CaseExportApi.as_view(), name="case-export"),
    path("alerts/<int:pk>/export/", export_api.AlertExportApi.as_view(), name="alert-export"),
    path("exports/<int:pk>/", export_api.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<int:pk>/download/", export_api.ExportDownloadApi.as_view(), name="export-download"),
    *cameras.urls.api_urlpatterns,
    *footage.urls.api_urlpatterns,
    *suspects.urls.api_urlpatterns,
    *facesearch.urls.api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # analysts
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/members/", views.case_member_add_view, name="case-member-add"),
    path("cases/<int:pk>/notes/", views.case_note_add_view, name="case-note-add"),
    path("cases/<int:pk>/export/", evidence_views.case_export, name="case-export"),
    path("alerts/<int:pk>/export/", evidence_views.alert_export, name="alert-export"),
    path("exports/<int:pk>/", evidence_views.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", evidence_views.export_download, name="export-download"),
    path("", include(footage.urls)),
    path("", include(facesearch.urls)),
    path("", include(cameras.urls)),
    # admins
    path("", include(suspects.urls)),
    path("audit/", views.audit_log, name="audit-log"),
    path("users/", user_views.users_page, name="user-list"),
    path("users/<int:pk>/", user_views.user_detail, name="user-detail"),
    path("media/<slug:kind>/<int:pk>/<slug:field>/", media.media, name="media"),
    path("api/", include((api_urlpatterns, "api"))),
    # Inside the admin area: the admin's own login and staff check guard it.
    path("admin/evidence-key/",
         include([path("", admin.site.admin_view(evidence_views.signing_key_admin), name="admin-evidence-key")])),
    path("admin/", admin.site.urls),
]

# JSON errors under /api/, the site's pages elsewhere (facecase/api_errors.py).
handler400 = "facecase.api_errors.handler400"
handler403 = "facecase.api_errors.handler403"
handler404 = "facecase.api_errors.handler404"
handler500 = "facecase.api_errors.handler500"
