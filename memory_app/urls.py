from django.urls import path

from . import views

app_name = "memory_app"

urlpatterns = [
    path("", views.overview, name="overview"),
]
