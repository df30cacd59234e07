"""Log in and out, quick registration, personal settings."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from otklik.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    RegistrationForm,
    ResetRequestForm,
)
from otklik.accounts.mailing import confirmation_read
from otklik.accounts.middleware import SESSION_LANGUAGE_KEY
from otklik.accounts.roles import is_demo_only, is_support
from otklik.accounts.services import (
    email_confirm,
    email_confirmation_send,
    profile_update,
    user_register,
)
from otklik.accounts.throttle import client_ip, too_often
from otklik.core.errors import ValidationFailed
from otklik.ui.forms import apply_errors


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def lockout_message() -> str:
    """Say why the login is refused and for how long, in the active language."""
    return _(
        "Too many failed attempts to log in. Logging in from here or to this account is locked for "
        "%(minutes)s minutes; try again later or reset your password."
    ) % {"minutes": settings.OTKLIK_LOGIN_LOCKOUT_MINUTES}


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Answer a locked-out login (axes) with the login page, the reason, and 429 Too Many Requests."""
    return render(
        request,
        "accounts/login.html",
        {"form": LoginForm(request), "next": request.POST.get("next", ""), "locked": lockout_message()},
        status=429,
    )


def _ip_locked(request: HttpRequest) -> bool:
    """Whether failed logins locked the request's IP address out (axes)."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, None)


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link: the same answer for any address; limited per IP and per address.

    Only active users of the address get mail (ResetRequestForm), through the outbox. An IP address
    locked out for failed logins cannot ask either.
    """

    template_name = "accounts/password_reset.html"
    form_class = ResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        if _ip_locked(request):
            return locked_out(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        limit = settings.OTKLIK_PASSWORD_RESET_PER_HOUR
        if too_often("reset-ip", client_ip(self.request) or "-", limit=limit, seconds=3600):
            form.add_error(None, _("Too many requests from your address; try again in an hour."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        address = form.cleaned_data["email"].strip().lower()
        if too_often("reset-address", address, limit=limit, seconds=3600):
            # Silently: telling it apart would say the address was asked for before.
            return redirect(self.success_url)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from the mailed link; the account's login lock (failed logins) is lifted."""

    template_name = "accounts/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        from axes.utils import reset as axes_reset

        response = super().form_valid(form)
        # The mailbox's owner chose a new password: failures by whoever guessed the old one stop counting.
        axes_reset(username=form.user.get_username().strip().lower())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (the old one is asked); demo access cannot."""

    template_name = "accounts/password_change.html"
    form_class = ChangePasswordForm
    success_url = reverse_lazy("accounts:password_change_done")

    def post(self, request, *args, **kwargs):
        if is_demo_only(request.user):
            messages.warning(request, _("Demo access is read-only: nothing was saved."))
            return redirect("accounts:password_change")
        return super().post(request, *args, **kwargs)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@login_not_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register a visitor as a client and log them in at once (F-12); the e-mail is confirmed later."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Each registration mails its address: one IP address must not flood someone's mailbox.
        if too_often(
            "register-ip",
            client_ip(request) or "-",
            limit=settings.OTKLIK_REGISTRATIONS_PER_HOUR,
            seconds=3600,
        ):
            form.add_error(None, _("Too many requests from your address; try again in an hour."))
            return render(request, "accounts/register.html", {"form": form, "next": next_url}, status=429)
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
            # The same words whether or not the address was known: registration reveals nothing (F-12).
            messages.success(
                request,
                _(
                    "Welcome! You are registered and logged in. We sent a link to %(email)s: open it to "
                    "confirm the address, and your mail to support will join your account."
                )
                % {"email": user.email},
            )
            return redirect(next_url or "tickets:client_new")
    return render(
        request,
        "accounts/register.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Let the user change their name, interface language, time zone and (support) reply signature."""
    user = request.user
    current = getattr(user, "profile", None)
    with_signature = is_support(user)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": current.language if current else "ru",
        "time_zone": current.time_zone if current else "Europe/Moscow",
        "signature": current.signature if current else "",
    }
    form = ProfileForm(request.POST or None, initial=initial, with_signature=with_signature)
    if request.method == "POST" and is_demo_only(user):
        messages.warning(request, _("Demo access is read-only: nothing was saved."))
        return redirect("accounts:profile")
    if request.method == "POST" and form.is_valid():
        request.session.pop(SESSION_LANGUAGE_KEY, None)
        try:
            profile_update(user=user, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("accounts:profile")
    context = {
        "form": form,
        "address_confirmed": bool(current and current.email_confirmed),
        "with_signature": with_signature,
    }
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)


@require_http_methods(["POST"])
def confirmation_send(request: HttpRequest) -> HttpResponse:
    """Mail the signed-in user a new link confirming their address (a few times an hour at most)."""
    if is_demo_only(request.user):
        messages.warning(request, _("Demo access is read-only: nothing was saved."))
    elif too_often("confirm-send", str(request.user.pk), limit=3, seconds=3600):
        messages.warning(request, _("A link was sent a moment ago; look for it or try again later."))
    else:
        email_confirmation_send(user=request.user)
        messages.success(request, _("We sent a new link to %(email)s.") % {"email": request.user.email})
    return redirect("accounts:profile")


@login_not_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm an address from the mailed link, signed in as the account it names (F-12).

    The link proves the reader holds the mailbox; the login proves they hold the account. Both are needed:
    the owner of an address must not confirm a stranger's account by one careless click, and a mail
    scanner that opens links (GET) confirms nothing.
    """
    found = confirmation_read(token)
    account = None
    if found is not None:
        account = User.objects.filter(pk=found[0], is_active=True).select_related("profile").first()
    context = {"account": account, "email": found[1] if found else "", "state": "invalid"}
    if account is None or (account.email or "").strip().lower() != found[1]:
        return render(request, "accounts/confirm.html", context, status=400)
    if not request.user.is_authenticated:
        context["state"] = "login"
    elif request.user.pk != account.pk:
        context["state"] = "other"
    elif account.profile.email_confirmed:
        context["state"] = "done"
    else:
        context["state"] = "ask"
        if request.method == "POST":
            try:
                email_confirm(user=account, email=found[1], actor=account)
            except ValidationFailed as exc:
                context.update(state="refused", error=exc.message)
                return render(request, "accounts/confirm.html", context, status=409)
            messages.success(
                request, _("Thank you: the address %(email)s is confirmed.") % {"email": found[1]}
            )
            return redirect("home")
    return render(request, "accounts/confirm.html", context)


@login_not_required
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
