"""A Content-Security-Policy for the pages staff use (the admin, the dashboard, the API docs): only
this server's own scripts run there, so an injected script (say, through a site's name or a
webhook URL shown in a list) has nothing to load and cannot run inline. The widget, its previews
and the demo shop set their own, stricter, nonce-based policy (consent.widget.views)."""

STAFF_PATHS = ("/admin/", "/api/docs/")
POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # The admin and Redoc set style attributes and inject <style> elements.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        # Redoc renders in a worker it makes from a blob.
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


class StaffPagesContentSecurityPolicy:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(STAFF_PATHS) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response
