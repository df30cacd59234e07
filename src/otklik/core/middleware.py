"""Report how long the server spent on each request (the Server-Timing header, read by bench/)."""

import time


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if not response.streaming:
            response["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        return response
