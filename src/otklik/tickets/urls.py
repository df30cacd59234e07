from django.urls import path

from otklik.tickets.views import client, files, staff, staff_new, staff_ticket

app_name = "tickets"
urlpatterns = [
    path("tickets/", client.client_list, name="client_list"),
    path("tickets/new/", client.client_new, name="client_new"),
    path("tickets/<int:ticket_id>/", client.client_detail, name="client_detail"),
    path("tickets/<int:ticket_id>/action/", client.client_action, name="client_action"),
    path("staff/tickets/", staff.staff_list, name="staff_list"),
    path("staff/tickets/bulk/", staff.staff_bulk, name="staff_bulk"),
    path("staff/tickets/filters/", staff.staff_filter_save, name="staff_filter_save"),
    path("staff/tickets/new/", staff_new.staff_new, name="staff_new"),
    path("staff/tickets/new/authors/", staff_new.staff_new_authors, name="staff_new_authors"),
    path("staff/tickets/<int:ticket_id>/", staff_ticket.staff_detail, name="staff_detail"),
    path("staff/tickets/<int:ticket_id>/update/", staff_ticket.staff_update, name="staff_update"),
    path("staff/tickets/<int:ticket_id>/action/", staff_ticket.staff_action, name="staff_action"),
    path("staff/tickets/<int:ticket_id>/field/", staff_ticket.staff_field, name="staff_field"),
    path("staff/tickets/<int:ticket_id>/live/", staff_ticket.staff_live, name="staff_live"),
    path("staff/tickets/<int:ticket_id>/follow/", staff_ticket.staff_follow, name="staff_follow"),
    path("staff/preview/", staff_ticket.markdown_preview, name="markdown_preview"),
    path("staff/tickets/<int:ticket_id>/delete/", staff_ticket.staff_delete, name="staff_delete"),
    path("staff/tickets/<int:ticket_id>/presence/", staff_ticket.presence_ping, name="presence"),
    path("staff/tickets/<int:ticket_id>/history.csv", staff_ticket.staff_history_csv, name="staff_history"),
    path(
        "staff/tickets/<int:ticket_id>/messages/<int:number>/edit/",
        staff_ticket.message_edit,
        name="message_edit",
    ),
    path(
        "staff/tickets/<int:ticket_id>/messages/<int:number>/delete/",
        staff_ticket.message_delete,
        name="message_delete",
    ),
    path(
        "staff/tickets/<int:ticket_id>/messages/<int:number>/split/",
        staff_ticket.message_split,
        name="message_split",
    ),
    path("files/<int:attachment_id>/<path:name>", files.attachment_download, name="attachment"),
]
