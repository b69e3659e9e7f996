from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from facecase import media, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/upload/", views.case_upload, name="case-upload"),
    path("footage/<int:pk>/", views.footage_detail, name="footage-detail"),
    path("alerts/", views.alert_list, name="alert-list"),
    path("suspects/", views.suspect_list, name="suspect-list"),
    path("media/<slug:kind>/<int:pk>/<slug:field>/", media.media, name="media"),
    path("api/", include("facecase.api_urls")),
    path("admin/", admin.site.urls),
]
