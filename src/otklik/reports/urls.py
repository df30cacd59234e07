from django.urls import path

from otklik.core.db_routing import replica_reads
from otklik.reports import views, views_deflection, views_funnel, views_load, views_sla

app_name = "reports"
# Every report reads from the read replica when one is set and fresh enough (core.db_routing); the pages
# say how old their data is when it lags.
urlpatterns = [
    path("reports/", replica_reads(views.desk_page), name="desk"),
    path("reports/load/", replica_reads(views_load.load_page), name="load"),
    path("reports/sla/", replica_reads(views_sla.sla_page), name="sla"),
    path("reports/response-times/", replica_reads(views_sla.response_times_page), name="response_times"),
    path("reports/funnel/", replica_reads(views_funnel.funnel_page), name="funnel"),
    path("reports/deflection/", replica_reads(views_deflection.deflection_page), name="deflection"),
]
