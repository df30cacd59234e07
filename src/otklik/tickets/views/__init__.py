"""Web views for tickets: the client's pages, the staff workspace, file downloads."""
