"""Mentions: the `@name` of a text, resolved against the users who can read the room.

A mention is `@` at the start of the text or after a character that is not a letter, digit
or underscore, followed by a user name. User names may hold `.`, `+` and `-`, which also
end sentences ("thanks @alice."): each candidate is tried as written and without its
trailing run of those characters.
"""

import re

from django.contrib.auth import get_user_model
from django.db.models import Q

__all__ = ["candidates", "resolve"]

# \w: a letter, digit or underscore of any script ("café@bob" is an address, not a mention).
_MENTION = re.compile(r"(?<!\w)@([\w.@+-]{1,150})")
_TRAILING = re.compile(r"[.@+-]+\Z")


def candidates(text):
    """The names text might mention (pure): a set, empty when text holds no `@`."""
    if "@" not in text:
        return set()
    names = set()
    for match in _MENTION.finditer(text):
        name = match.group(1)
        names.add(name)
        # "@alice@bob" mentions alice (and bob, found by the next match)
        head = name.split("@", 1)[0]
        for each in (head, _TRAILING.sub("", name), _TRAILING.sub("", head)):
            if each:
                names.add(each)
    return names


def resolve(room, text):
    """[(user id, user name)] sorted by name: the active users who can read room (any for a
    public room; its owner and members for a private one) that text mentions."""
    names = candidates(text)
    if not names:
        return []
    model = get_user_model()
    field = model.USERNAME_FIELD
    users = model._default_manager.filter(**{f"{field}__in": names, "is_active": True})
    if room.is_private:
        users = users.filter(Q(pk=room.owner_id) | Q(membership__room=room))
    found = {(pk, name) for pk, name in users.values_list("pk", field)}
    return sorted(found, key=lambda item: item[1])
