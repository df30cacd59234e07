"""Configuration pages of the support wizard: the questions of the sections, and a preview of the wizard as
a chosen SLA sees it (nothing filed, nothing recorded).

The sections themselves (their category, ask_title, ask_coupon, in_wizard) are edited on the knowledge
base's section page; `QuestionInline` lists a section's questions there.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.dictionaries.models import DictionaryEntry
from otklik.kb.models import Question, active_language
from otklik.kb.wizard_flow import (
    PREVIEW_KEY,
    RunState,
    state_clear,
    state_load,
    state_save,
    step_act,
    step_context,
    step_page,
    steps_of,
)
from otklik.kb.wizard_selectors import wizard_sla_list, wizard_tree
from otklik.kb.wizard_services import wizard_question_delete, wizard_question_problems, wizard_question_save
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ("section", "kind", "label_ru", "label_en", "choices", "required", "sort")
        widgets = {"choices": forms.Textarea({"rows": 3, "cols": 40})}
        help_texts = {
            "choices": _('One per line: "Russian | English". Only lists and radio buttons use them.')
        }

    def clean(self):
        data = super().clean()
        problems = wizard_question_problems(
            kind=data.get("kind") or "",
            label_ru=data.get("label_ru") or "",
            label_en=data.get("label_en") or "",
            choices=data.get("choices") or "",
        )
        for name, messages in problems.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return data


class QuestionFormSet(forms.BaseInlineFormSet):
    """Save and delete the inline's questions through the wizard's services."""

    def save_new(self, form, commit=True):
        return self._save(form, Question(section=self.instance))

    def save_existing(self, form, obj, commit=True):
        return self._save(form, obj)

    def delete_existing(self, obj, commit=True):
        if commit:
            wizard_question_delete(question=obj)

    def _save(self, form, question: Question) -> Question:
        d = form.cleaned_data
        return wizard_question_save(
            section=self.instance,
            kind=d["kind"],
            label_ru=d.get("label_ru") or "",
            label_en=d.get("label_en") or "",
            choices=d.get("choices") or "",
            required=bool(d.get("required")),
            sort=d["sort"] if isinstance(d.get("sort"), int) else 100,
            question=question,
        )


class QuestionInline(SupportAdminPermissions, admin.TabularInline):
    """A section's wizard questions, on the section's page."""

    model = Question
    form = QuestionForm
    formset = QuestionFormSet
    fields = ("sort", "kind", "label_ru", "label_en", "choices", "required")
    extra = 0


# What the preview's buttons send (besides "pick", a section chosen).
PREVIEW_ACTIONS = frozenset({"cancel", "restart", "back", "answered", "next", "done"})


@admin.register(Question, site=admin_site)
class QuestionAdmin(SupportAdminPermissions, admin.ModelAdmin):
    form = QuestionForm
    change_list_template = "kb/admin/question_change_list.html"
    list_display = ("label_text", "section", "kind", "required", "sort")
    list_filter = ("kind", "required")
    list_select_related = ("section",)
    search_fields = ("label_ru", "label_en", "section__title_ru", "section__title_en", "section__slug")
    ordering = ("section__sort", "section_id", "sort", "id")

    @admin.display(description=_("question"), ordering="label_ru")
    def label_text(self, obj: Question) -> str:
        return obj.label

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        wizard_question_save(
            section=d["section"],
            kind=d["kind"],
            label_ru=d["label_ru"],
            label_en=d["label_en"],
            choices=d["choices"],
            required=d["required"],
            sort=d["sort"],
            question=obj,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [path("preview/", wrap(self.preview_view), name="kb_wizard_preview")]
        return custom + super().get_urls()

    def preview_view(self, request):
        """Walk the wizard as clients of the chosen SLA see it; the state lives apart from any real run."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        levels = wizard_sla_list()
        chosen = request.GET.get("sla", "")
        sla = next((s for s in levels if str(s.pk) == chosen), None)
        tree = wizard_tree(sla=sla)  # as a client sees it
        base = reverse("admin:kb_wizard_preview")

        def url_for(number: int) -> str:
            return f"{base}?{urlencode({'sla': sla.pk if sla else '', 'step': number})}"

        state = state_load(request.session, PREVIEW_KEY, tree)
        if state is None or request.session.get(PREVIEW_KEY + ".sla") != chosen:
            state = RunState()
            request.session[PREVIEW_KEY + ".sla"] = chosen
        lang = active_language()
        notice = ""
        result = None
        steps = steps_of(tree, state)
        try:
            number = int(request.GET.get("step", "1"))
        except ValueError:
            number = 1
        number = max(1, min(number, len(steps) or 1))
        if request.method == "POST" and steps:
            act = step_act(request.POST, tree, state, steps, number, lang)
            if act.kind == "go":
                state_save(request.session, PREVIEW_KEY, state)
                return redirect(url_for(act.number))
            if act.kind in ("cancel", "restart"):
                state_clear(request.session, PREVIEW_KEY)
                return redirect(url_for(1))
            if act.kind == "answered" and act.section is not None:
                notice = gettext(
                    'A client would end here: "answered on %(section)s" (the preview records nothing).'
                ) % {"section": act.section.title(lang)}
            elif act.kind == "done":
                result = act.ticket
            else:
                notice = act.error
        state_save(request.session, PREVIEW_KEY, state)
        steps = steps_of(tree, state)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Support wizard preview"),
            "levels": levels,
            "sla": sla,
            "chosen_sla": chosen,
            "notice": notice,
            "result": result,
            "result_category": DictionaryEntry.objects.filter(pk=result.category).first()
            if result and result.category
            else None,
            "empty": not steps,
        }
        if steps:
            number = max(1, min(number, len(steps)))
            data = request.POST if request.method == "POST" and result is None else None
            page = step_page(tree, state, steps, number, lang, data=data)
            context.update(step_context(page, lang, url_for=url_for, preview=True))
        return TemplateResponse(request, "kb/admin/wizard_preview.html", context)

    # The preview keeps its walk in the session and writes nothing: demo access may walk it (and only that).
    preview_view.demo_may_post = lambda request: (  # type: ignore[attr-defined]
        "pick" in request.POST or request.POST.get("action") in PREVIEW_ACTIONS
    )
