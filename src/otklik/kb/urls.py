from django.urls import path

from otklik.kb import views, wizard_views

app_name = "kb"
urlpatterns = [
    # The support wizard (kb/wizard_views.py); tickets' "Ask a question" link leads to "kb:wizard".
    path("wizard/", wizard_views.wizard_start, name="wizard"),
    path("wizard/step/<int:number>/", wizard_views.wizard_step, name="wizard_step"),
    path("wizard/thanks/", wizard_views.wizard_thanks, name="wizard_thanks"),
    path("wizard/skip/", wizard_views.wizard_skip, name="wizard_skip"),
    path("kb/", views.kb_home, name="home"),
    path("kb/search/", views.kb_search, name="search"),
    path("kb/suggest/", views.kb_suggest, name="suggest"),
    path("kb/insert/", views.kb_insert_picker, name="insert_picker"),
    path("kb/articles/<slug:slug>/", views.kb_article, name="article"),
    path("kb/articles/<slug:slug>/answered/", views.kb_article_answered, name="article_answered"),
    path("kb/<path:path>/", views.kb_section, name="section"),
]
