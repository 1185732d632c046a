"""The Content-Security-Policy of the pages (chat.views) and of the admin (chat.admin_csp)."""

__all__ = ["csp"]


def csp(style_src="'self'"):
    """The pages' Content-Security-Policy, with extra style sources where one needs them."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style_src}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
