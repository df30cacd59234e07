from django.urls import path
from otklik.api.api import api
urlpatterns = [path("api/v1/", api.urls)]
