from django.apps import AppConfig


def _forget_on_config_change(sender, **kwargs) -> None:
    """Forget the configuration cache when a row of a model some app registered for it changed."""
    if getattr(sender, "_meta", None) is None:
        return
    from otklik.core.config_cache import config_rows_changed

    config_rows_changed(sender)


class CoreConfig(AppConfig):
    name = "otklik.core"
    label = "core"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import m2m_changed, post_delete, post_save

        # Registers the event-dispatch job that otklik.core.events.dispatch_after_commit enqueues.
        from otklik.core import tasks  # noqa: F401
        from otklik.core.config_cache import config_request_finished, config_request_started
        from otklik.core.logs import logs_install

        # Each app registers the models it caches in its own ready() (config_models_register).
        for signal in (post_save, post_delete, m2m_changed):
            signal.connect(_forget_on_config_change, dispatch_uid=f"otklik-config-{id(signal)}")
        # Other processes' changes: the shared generation is read at most once per request.
        request_started.connect(config_request_started, dispatch_uid="otklik-config-request-started")
        request_finished.connect(config_request_finished, dispatch_uid="otklik-config-request-finished")
        # Jobs carry the id of the request that queued them; their lines and the request lines (logs.py).
        logs_install()
