"""Banner impressions: the widget reports each banner it shows, without cookies; we count them
per site, day, language and country and keep nothing per visitor (consent.services.rollup)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from consent.api.client_info import client_country
from consent.api.cors import RegisteredOrigin
from consent.api.parsers import LimitedJSONParser
from consent.api.serializers import LanguageField
from consent.api.views import PublicView, errors
from consent.services.rollup import record_impression


class PlainTextJSONParser(LimitedJSONParser):
    """navigator.sendBeacon posts text/plain, which needs no CORS preflight: read it as JSON."""

    media_type = "text/plain"


class ImpressionSerializer(serializers.Serializer):
    language = LanguageField()

    def validate_language(self, value: str) -> str:
        return value.lower()


class ImpressionView(PublicView):
    parser_classes = [LimitedJSONParser, PlainTextJSONParser]
    permission_classes = [RegisteredOrigin]

    @extend_schema(
        summary="Count a banner shown",
        request=ImpressionSerializer,
        responses={204: OpenApiResponse(description="Counted."), **errors(400, 403, 404, 413, 429)},
    )
    def post(self, request, site_key):
        impression = ImpressionSerializer(data=request.data)
        impression.is_valid(raise_exception=True)
        record_impression(
            site=self.site, language=impression.validated_data["language"], country=client_country(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
