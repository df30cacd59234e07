from django.urls import path

from otklik.notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/count/", views.bell_count, name="count"),
    path("notifications/panel/", views.bell_panel, name="panel"),
    path("notifications/read/", views.mark_all_read, name="mark_all_read"),
    path("notifications/<int:notification_id>/open/", views.open_notification, name="open"),
    path("settings/notifications/", views.preferences, name="preferences"),
]
