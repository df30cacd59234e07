from django.urls import path

from otklik.kb import views

app_name = "kb"
urlpatterns = [
    path("kb/", views.kb_home, name="home"),
    path("kb/search/", views.kb_search, name="search"),
    path("kb/suggest/", views.kb_suggest, name="suggest"),
    path("kb/insert/", views.kb_insert_picker, name="insert_picker"),
    path("kb/articles/<slug:slug>/", views.kb_article, name="article"),
    path("kb/articles/<slug:slug>/answered/", views.kb_article_answered, name="article_answered"),
    path("kb/<path:path>/", views.kb_section, name="section"),
]
