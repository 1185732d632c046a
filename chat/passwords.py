"""Password validators beyond Django's own (listed in AUTH_PASSWORD_VALIDATORS)."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

__all__ = ["VisibleCharactersValidator", "visible_length"]

# Control, format (zero-width, direction marks), surrogate, private-use, unassigned and
# separator characters: none of them shows, so none of them makes a password longer.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def visible_length(password):
    """How many characters of password show: not white space, not invisible."""
    return sum(
        1
        for ch in password
        if not ch.isspace() and unicodedata.category(ch) not in INVISIBLE_CATEGORIES
    )


class VisibleCharactersValidator:
    """At least min_length characters that show: eight spaces or eight zero-width
    characters are refused, though Django's MinimumLengthValidator counts them."""

    def __init__(self, min_length=8):
        self.min_length = min_length

    def validate(self, password, user=None):
        if visible_length(password) < self.min_length:
            raise ValidationError(
                ngettext(
                    "This password has too few visible characters: use at least %(min_length)d "
                    "character that is not a space or an invisible character.",
                    "This password has too few visible characters: use at least %(min_length)d "
                    "characters that are not spaces or invisible characters.",
                    self.min_length,
                ),
                code="password_too_few_visible",
                params={"min_length": self.min_length},
            )

    def get_help_text(self):
        return ngettext(
            "Your password must contain at least %(min_length)d visible character (spaces and "
            "invisible characters do not count).",
            "Your password must contain at least %(min_length)d visible characters (spaces and "
            "invisible characters do not count).",
            self.min_length,
        ) % {"min_length": self.min_length}
