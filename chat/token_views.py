"""The user's own page of API tokens: create one (shown once), see them, revoke them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from . import token_auth, tokens
from .models import ApiToken
from .views import content_security_policy, private

__all__ = ["tokens_page"]


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=tokens.MAX_NAME,
        help_text="What the token is for, for example “deploy script”. Up to 64 characters.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _render(request, form, created=None, status=200):
    rows = ApiToken.objects.filter(user=request.user).order_by("name")
    context = {
        "form": form,
        "tokens": rows,
        "created": created,
        "max_tokens": token_auth.MAX_TOKENS,
    }
    # no-store: the page may hold a new token's secret, which must not outlive this view.
    return private(render(request, "chat/tokens.html", context, status=status))


@content_security_policy
@login_required
def tokens_page(request):
    """GET: the user's tokens; POST action=create|revoke."""
    if request.method != "POST":
        return _render(request, NewTokenForm())
    if request.POST.get("action") == "revoke":
        name = request.POST.get("name", "")
        if token_auth.revoke(request.user, name):
            messages.success(request, f"The token “{name}” was revoked; its connections closed.")
        else:
            messages.error(request, f"You hold no token named “{name}”.")
        # Post/redirect/get: a reload does not repeat the revocation.
        return HttpResponseRedirect(reverse("tokens"), status=303)
    form = NewTokenForm(request.POST)
    if form.is_valid():
        try:
            token, text = token_auth.create_token(request.user, form.cleaned_data["name"])
        except (tokens.InvalidName, token_auth.TokenNameTaken, token_auth.TooManyTokens) as exc:
            form.add_error("name", str(exc))
        else:
            # Rendered, not redirected: the secret exists only in this response.
            return _render(request, NewTokenForm(), created={"name": token.name, "token": text})
    return _render(request, form, status=400)
