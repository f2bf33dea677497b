"""The time each request takes, into cmp_request_seconds by URL name."""

import time

from consent import metrics


class RequestTimer:
    """Times what Django answers after WhiteNoise (static files are not timed): the other
    middleware, the view, and the fast path of the check, which bypasses DRF but not this."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.observe_request(endpoint_of(request), time.perf_counter() - started)
        return response


def endpoint_of(request) -> str:
    """The URL's name (`api:category`, `widget`, `health`): a fixed set. The admin's many pages are
    one; a request that matched no URL, or that a middleware answered first, is `preflight`
    (CORS) or `unmatched`."""
    match = request.resolver_match
    if match is None:
        return "preflight" if request.method == "OPTIONS" else "unmatched"
    if "admin" in match.namespaces:
        return "admin"
    return match.view_name
