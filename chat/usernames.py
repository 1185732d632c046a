"""User names that cannot pass for someone else's: look-alikes and mixed scripts refused.

Two names are look-alikes when their skeletons match: each character, after NFKC and case
folding, replaced by one representative of its class of confusable characters (Unicode's
confusables data, UTS #39, as packaged by confusable-homoglyphs; classes are the closure of
its single-character pairs). So `аlice` (Cyrillic а) and `ALICE` both collide with `alice`.
"""

import functools
import re
import unicodedata

from confusable_homoglyphs import confusables
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

__all__ = ["skeleton", "look_alikes", "validate_new_username"]

_MARKS = "\u200e\u200f"  # the data wraps right-to-left characters in direction marks


@functools.cache
def _classes():
    """{character: (representative, every member of its class)} over the confusables data."""
    parent = {}

    def find(ch):
        while parent.get(ch, ch) != ch:
            ch = parent[ch]
        return ch

    for ch, glyphs in confusables.confusables_data.items():
        for glyph in glyphs:
            other = glyph["c"].strip(_MARKS)
            if len(ch) == 1 and len(other) == 1:
                a, b = sorted((find(ch), find(other)))
                if a != b:
                    parent[b] = a
    members = {}
    for ch in parent:
        members.setdefault(find(ch), set()).add(ch)
    classes = {}
    for representative, group in members.items():
        group.add(representative)
        frozen = "".join(sorted(group))
        for ch in group:
            classes[ch] = (representative, frozen)
    return classes


def _fold(name):
    return unicodedata.normalize("NFKC", name).casefold()


def skeleton(name):
    """The form two look-alike names share (NFKC, case folded, confusables merged)."""
    classes = _classes()
    return "".join(classes.get(ch, (ch,))[0] for ch in _fold(name))


def _pattern(name):
    """A case-insensitive regex matching every stored name that may share name's skeleton
    (each character by its whole class), so the database finds the few candidates."""
    classes = _classes()
    parts = []
    for ch in _fold(name):
        group = classes.get(ch, (ch, ch))[1]
        parts.append("[" + "".join(re.escape(c) for c in group) + "]")
    return "^" + "".join(parts) + "$"


def look_alikes(name):
    """The existing user names that look like name (the same one, in any case, included)."""
    model = get_user_model()
    field = model.USERNAME_FIELD
    wanted = skeleton(name)
    query = model.objects.filter(**{f"{field}__iregex": _pattern(name)})
    found = query.values_list(field, flat=True)[:20]
    return [other for other in found if skeleton(other) == wanted]


def validate_new_username(name):
    """Raise ValidationError when name mixes scripts or looks like an existing user's name."""
    if look_alikes(name):
        raise ValidationError(
            "This user name is taken, or looks too much like one that is (letters that look "
            "the same, or a different case); choose another.",
            code="look_alike",
        )
    if confusables.is_mixed_script(name):
        raise ValidationError(
            "This user name mixes letters of different alphabets (for example Latin and "
            "Cyrillic); use letters of one alphabet.",
            code="mixed_script",
        )
