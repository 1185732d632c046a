"""A Content-Security-Policy for the Django admin's pages (MIDDLEWARE).

Django 5.2's admin loads only its own static scripts (no inline script, no event handler
attributes, no style attributes); its one inline `<style>`, in change_list.html (a list
page without actions), is allowed by its hash, so nothing else inline can run or style.
"""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from .csp import csp

__all__ = ["AdminContentSecurityPolicyMiddleware", "ADMIN_CONTENT_SECURITY_POLICY"]

# sha256 of the <style> body of django/contrib/admin/templates/admin/change_list.html
# (tests/test_admin_csp.py recomputes it from the installed Django, so an upgrade that
# changes it fails there, not silently in browsers).
CHANGE_LIST_STYLE = "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='"

ADMIN_CONTENT_SECURITY_POLICY = csp(f"'self' {CHANGE_LIST_STYLE}")


def _add_policy(request, response):
    match = getattr(request, "resolver_match", None)
    if match is not None and "admin" in match.namespaces:
        response.headers.setdefault("Content-Security-Policy", ADMIN_CONTENT_SECURITY_POLICY)
    return response


@sync_and_async_middleware
def AdminContentSecurityPolicyMiddleware(get_response):
    """Adds ADMIN_CONTENT_SECURITY_POLICY to every response of a view of the admin site;
    sync and async, so the async views (/readyz, /metrics) take no thread hop for it."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _add_policy(request, await get_response(request))

    else:

        def middleware(request):
            return _add_policy(request, get_response(request))

    return middleware
