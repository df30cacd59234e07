from django.urls import path

from otklik.reports import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.desk_page, name="desk"),
]
