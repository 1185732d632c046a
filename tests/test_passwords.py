"""The password validators of AUTH_PASSWORD_VALIDATORS, through Django's own entry points."""

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError

from chat.forms import SignupForm
from chat.passwords import VisibleCharactersValidator, visible_length

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "password",
    [
        " " * 8,
        "\u200b" * 8,  # zero-width space (Cf)
        "\u200d\u2060\ufeff\u200c" * 3,  # joiners, word joiner, BOM
        "\u3000" * 10,  # ideographic space
        "\t\n" * 6,
        "ab c\u200b\u200b\u200b\u200b\u200b d",  # four visible characters
    ],
)
def test_invisible_passwords__refused(password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert "password_too_few_visible" in [e.code for e in refused.value.error_list]


def test_all_digit_password__refused():
    with pytest.raises(ValidationError) as refused:
        validate_password("80417362950")
    assert "password_entirely_numeric" in [e.code for e in refused.value.error_list]


def test_visible_password_with_spaces__accepted():
    validate_password("correct horse battery")
    assert visible_length("a b\u200bc") == 3


def test_help_text__in_djangos_list():
    texts = password_validators_help_texts()
    assert any("visible characters" in text for text in texts)
    assert VisibleCharactersValidator(3).get_help_text().count("3") == 1


def test_signup_form__refuses_eight_zero_width_characters():
    data = {"username": "carol", "password1": "\u200b" * 8, "password2": "\u200b" * 8}
    form = SignupForm(data)
    assert not form.is_valid()
    assert "too few visible characters" in " ".join(form.errors["password2"])
