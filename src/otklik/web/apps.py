from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "otklik.web"
    label = "web"

    def ready(self) -> None:
        from huey.contrib.djhuey import HUEY

        from otklik.web.job_ids import job_ids_install

        # Jobs carry their enqueue time in their id: /metrics reports how long the oldest one waits.
        job_ids_install(HUEY)
