from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from facecase import media, views
from facecase.evidence.views import signing_key_admin

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/new/", views.case_new, name="case-new"),
    # The operator, analyst and admin pages (cases, footage, alerts, registry, audit) live in urls_ui.
    path("", include("facecase.urls_ui")),
    path("media/<slug:kind>/<int:pk>/<slug:field>/", media.media, name="media"),
    path("api/", include("facecase.api_urls")),
    # Inside the admin area: the admin's own login and staff check guard it.
    path("admin/evidence-key/",
         include([path("", admin.site.admin_view(signing_key_admin), name="admin-evidence-key")])),
    path("admin/", admin.site.urls),
]

# JSON errors under /api/, the site's pages elsewhere (facecase/api_errors.py).
handler400 = "facecase.api_errors.handler400"
handler403 = "facecase.api_errors.handler403"
handler404 = "facecase.api_errors.handler404"
handler500 = "facecase.api_errors.handler500"
