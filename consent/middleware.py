"""Django middleware that gives every request `request.consent`, read from the `cmp_consent`
cookie without a network call: `if request.consent.allows("analytics"): ...`.

Settings: CMP_CONSENT_COOKIE (the cookie's name, default cmp_consent) and
CMP_REQUIRED_POLICY_VERSION (decisions under an older policy version allow nothing, default 0).
"""

from django.conf import settings

from consent.consent_cookie import COOKIE_NAME, consent_from_cookies


class ConsentCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.cookie_name = getattr(settings, "CMP_CONSENT_COOKIE", COOKIE_NAME)
        self.required_version = int(getattr(settings, "CMP_REQUIRED_POLICY_VERSION", 0))

    def __call__(self, request):
        request.consent = consent_from_cookies(
            request.COOKIES, cookie_name=self.cookie_name, required_version=self.required_version
        )
        return self.get_response(request)
