"""Keep uploaded files whose names Django would drop, so that the upload check refuses them by name.

Django's multipart parser silently skips a file whose name reduces to nothing (`..`, `/`, control
characters): the message would be posted without it and the user never told. This parser passes such a
file on under a name that is only an invisible character; `tickets.files.safe_name` reduces that to "" and
the check answers with a field error.
"""

from __future__ import annotations

from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import ImmutableList

# Not printable (a zero-width space), so it sanitises to nothing; never a path element.
UNUSABLE_NAME = "\u200b"


class KeepNamelessFilesParser(MultiPartParser):
    """Parse multipart bodies like Django does, but keep files whose name sanitises to nothing."""

    def sanitize_file_name(self, file_name):
        # Only called for a non-empty filename: an empty file input (filename="") is still no file.
        return super().sanitize_file_name(file_name) or UNUSABLE_NAME


class KeepNamelessFilesMiddleware:
    """Parse this request's uploads with KeepNamelessFilesParser (before CSRF reads request.POST)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def parse_file_upload(meta, post_data):
            request.upload_handlers = ImmutableList(
                request.upload_handlers,
                warning="You cannot alter upload handlers after the upload has been processed.",
            )
            return KeepNamelessFilesParser(meta, post_data, request.upload_handlers, request.encoding).parse()

        request.parse_file_upload = parse_file_upload
        return self.get_response(request)
