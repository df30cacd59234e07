"""Log in and out, quick registration, personal settings."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from otklik.accounts.forms import LoginForm, ProfileForm, RegistrationForm
from otklik.accounts.middleware import SESSION_LANGUAGE_KEY
from otklik.accounts.roles import is_demo_only
from otklik.accounts.services import profile_update, user_register
from otklik.core.errors import ValidationFailed
from otklik.web.forms import apply_errors


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register a visitor as a client and log them in at once (F-12); the e-mail is confirmed later."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_register(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                language=(get_language() or "ru")[:2],
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! You are registered and logged in."))
            return redirect(next_url or "tickets:client_new")
    return render(
        request,
        "accounts/register.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Let the user choose the interface language and time zone."""
    current = getattr(request.user, "profile", None)
    initial = {
        "language": current.language if current else "ru",
        "time_zone": current.time_zone if current else "Europe/Moscow",
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and is_demo_only(request.user):
        messages.warning(request, _("Demo access is read-only: nothing was saved."))
        return redirect("accounts:profile")
    if request.method == "POST" and form.is_valid():
        request.session.pop(SESSION_LANGUAGE_KEY, None)
        try:
            profile_update(user=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["POST"])
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the language: saved in the profile for users, in a cookie for visitors."""
    lang = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = redirect(next_url)
    if lang in ("ru", "en"):
        if request.user.is_authenticated:
            request.session[SESSION_LANGUAGE_KEY] = lang
            if not is_demo_only(request.user):
                profile_update(user=request.user, language=lang)
        response.set_cookie("django_language", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response
