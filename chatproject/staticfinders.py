"""Find `collectstatic`'s output, so the app can serve the hashed names the manifest gives.

With ManifestStaticFilesStorage, `{% static 'chat/chat.css' %}` is
`/static/chat/chat.3f2a9c1b.css`: a file only STATIC_ROOT holds. The app's static view
(chat/views.py) looks files up through the finders; this one, listed last, answers from
STATIC_ROOT. It lists nothing, so `collectstatic` never copies STATIC_ROOT onto itself.
"""

import os

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils._os import safe_join

__all__ = ["CollectedFinder"]

MANIFEST = "staticfiles.json"  # collectstatic's bookkeeping, not a file of the client


class CollectedFinder(finders.BaseFinder):
    """Files under STATIC_ROOT (hashed copies included), for serving only."""

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        root = settings.STATIC_ROOT
        match = None
        if root:
            try:
                candidate = safe_join(root, path)
            except SuspiciousFileOperation:
                candidate = None
            if candidate and os.path.isfile(candidate) and path != MANIFEST:
                match = candidate
                if str(root) not in finders.searched_locations:
                    finders.searched_locations.append(str(root))
        if match is None:
            return []  # like Django's finders: finders.find() treats None as a match
        return [match] if find_all else match

    def list(self, ignore_patterns):
        return []
