"""The visitor's signed receipt of their latest decision (public: the widget offers it)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from consent.api.cors import RegisteredOrigin
from consent.api.serializers import VisitorTokenSerializer
from consent.api.views import PublicView, errors, visitor_token
from consent.services.receipts import receipt


class ReceiptView(PublicView):
    """The visitor proves the id is theirs with the visitor token (POST); a GET, without a body,
    serves only ids older than tokens that no browser has claimed yet."""

    permission_classes = [RegisteredOrigin]

    @extend_schema(
        summary="A signed receipt of my latest decision",
        description=(
            "Fields: format, site, consent_id, decided_at, categories, action, source, policy_version, hash "
            "(the record's SHA-256 in the visitor's chain), key_id and signature (HMAC-SHA256 under a key "
            "derived from the server's secret, over the other fields as canonical JSON)."
        ),
        responses={200: OpenApiTypes.OBJECT, **errors(403, 404, 429)},
    )
    def get(self, request, site_key, consent_id):
        return Response(receipt(self.site, self.consent_id(), from_browser=True))

    @extend_schema(
        summary="A signed receipt of my latest decision",
        request=VisitorTokenSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 429)},
    )
    def post(self, request, site_key, consent_id):
        token = visitor_token(request)
        return Response(receipt(self.site, self.consent_id(), visitor_token=token, from_browser=True))
