from django.urls import path

from otklik.reports import views, views_deflection, views_funnel, views_load, views_sla

app_name = "reports"
urlpatterns = [
    path("reports/", views.desk_page, name="desk"),
    path("reports/load/", views_load.load_page, name="load"),
    path("reports/sla/", views_sla.sla_page, name="sla"),
    path("reports/response-times/", views_sla.response_times_page, name="response_times"),
    path("reports/funnel/", views_funnel.funnel_page, name="funnel"),
    path("reports/deflection/", views_deflection.deflection_page, name="deflection"),
]
