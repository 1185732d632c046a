"""Look-alike and mixed-script user names refused at sign-up, against the real database."""

import pytest
from django.contrib.auth import get_user_model

from chat.forms import SignupForm
from chat.usernames import look_alikes, skeleton

pytestmark = pytest.mark.django_db

PASSWORD = "Kx9!mqv-2-zzt"
CYRILLIC_A = "\u0430"


def sign_up(name):
    return SignupForm({"username": name, "password1": PASSWORD, "password2": PASSWORD})


def test_skeleton__cyrillic_letters_case_and_full_width_collide():
    assert skeleton(CYRILLIC_A + "lice") == skeleton("alice") == skeleton("ALICE")
    assert skeleton("ａｌｉｃｅ") == skeleton("alice")
    assert skeleton("a1ice") == skeleton("alice")  # 1 and l, as UTS #39 has them
    assert skeleton("bob") != skeleton("alice")


@pytest.mark.parametrize(
    "existing, new",
    [
        ("alice", CYRILLIC_A + "lice"),
        (CYRILLIC_A + "lice", "alice"),  # and the other way round
        ("alice", "ALICE"),
        ("Alice", "alice"),
        ("scope", "\u0455\u0441\u043e\u0440\u0435"),  # every letter Cyrillic: one script
        ("alice", "a1ice"),
    ],
)
def test_signup__refuses_a_look_alike_of_an_existing_name(make_user, existing, new):
    get_user_model().objects.create_user(existing, password=PASSWORD)
    form = sign_up(new)
    assert not form.is_valid()
    assert "looks too much like one that is" in " ".join(form.errors["username"]) or (
        "already exists" in " ".join(form.errors["username"])
    )
    assert look_alikes(new) == [existing]


def test_signup__refuses_mixed_scripts_even_without_a_look_alike():
    form = sign_up("b" + CYRILLIC_A + "rt")
    assert not form.is_valid()
    assert "mixes letters of different alphabets" in form.errors["username"][0]


def test_signup__accepts_distinct_names_in_one_script(make_user):
    make_user("alice")
    for name in ["alicia", "иван", "josé", "alice_2", "bob.smith"]:
        assert sign_up(name).is_valid(), name


def test_signup__user_name_is_nfkc_normalized():
    form = sign_up("ｃａｒｏｌ")
    assert form.is_valid()
    assert form.save().username == "carol"


def test_look_alikes__finds_candidates_among_many_users(make_user):
    model = get_user_model()
    model.objects.bulk_create(model(username=f"user{i}") for i in range(300))
    make_user("alice")
    assert look_alikes(CYRILLIC_A + "LICE") == ["alice"]
    assert look_alikes("zed") == []
