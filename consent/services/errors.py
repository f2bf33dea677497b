"""Errors the services raise; the API turns each into a clear 4xx answer."""


class ConsentError(Exception):
    """Base class: a request the product refuses, with a message fit for the caller."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidDecision(ConsentError):
    code = "invalid_decision"


class UnknownCategory(ConsentError):
    status = 404
    code = "unknown_category"


class UnknownSite(ConsentError):
    status = 404
    code = "unknown_site"


class UnknownVisitor(ConsentError):
    status = 404
    code = "unknown_consent"


class VisitorTokenRefused(ConsentError):
    """A browser's request for a consent id whose visitor token it does not hold."""

    status = 403
    code = "visitor_token_refused"


class ScanRefused(ConsentError):
    """A cookie scan that cannot be started, or whose report cannot be used (yet)."""

    status = 409
    code = "scan_refused"
