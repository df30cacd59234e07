from django.urls import path

from otklik.mail import views

app_name = "mail"
urlpatterns = [
    path("staff/messages/<int:message_id>/original.eml", views.message_original, name="message_original"),
]
