from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "otklik.ui"
    label = "ui"
