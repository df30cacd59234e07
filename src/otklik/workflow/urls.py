from django.urls import path

from otklik.workflow import views

app_name = "workflow"
urlpatterns = [
    path("staff/tickets/<int:ticket_id>/process/", views.process_card, name="card"),
    path("staff/tickets/<int:ticket_id>/process/vote/", views.process_vote, name="vote"),
    path("staff/tickets/<int:ticket_id>/process/<slug:transition>/", views.process_move, name="move"),
    path("staff/process/roles/<slug:code>/", views.role_instructions, name="role"),
]
