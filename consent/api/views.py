"""The HTTP API, version 1 (docs/integration.md, "HTTP API"). Thin: parse, call a service, shape."""

import uuid

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.api import serializers
from consent.api.authentication import ApiKeyAuthentication, HasSiteApiKey, bearer_token
from consent.api.client_info import client_country, client_ip, client_region, sends_gpc, vary_on_region
from consent.api.cors import RegisteredOrigin
from consent.api.throttles import PublicRateThrottle
from consent.selectors.cookies import declared_cookies
from consent.selectors.visitors import export_visitor, history
from consent.services.checks import check_category, check_many, check_with_api_key, current_consent
from consent.services.config import regime_config
from consent.services.errors import UnknownVisitor
from consent.services.records import record_decision
from consent.services.rights import erase_visitor
from consent.services.sites import authenticate_api_key, policy_versions, site_snapshot
from consent.services.visitors import claim

ERRORS = {code: OpenApiResponse(serializers.ErrorSerializer, description=text) for code, text in {
    400: "Malformed JSON or invalid fields.",
    401: "No API key, or one that is wrong or revoked.",
    403: "A key of another site, an Origin the site did not register, or a missing or wrong visitor token.",
    404: "Unknown site, visitor or category.",
    413: "Body too large.",
    429: "Too many requests from this IP.",
}.items()}  # fmt: skip


# As DRF's JSONRenderer writes it, so that both paths of the check answer byte for byte alike.
COMPACT_JSON = {"ensure_ascii": False, "separators": (",", ":")}


def errors(*codes):
    return {code: ERRORS[code] for code in codes}


class SiteView(APIView):
    """Resolves the site named in the URL (404 if unknown) before anything else."""

    def initial(self, request, *args, **kwargs):
        self.site = site_snapshot(kwargs["site_key"])
        super().initial(request, *args, **kwargs)

    def consent_id(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.kwargs["consent_id"])
        except ValueError:
            raise NotFound("A consent id is a UUID, e.g. 2f1d3c4e-5b6a-4789-8abc-def012345678.") from None


class PublicView(SiteView):
    """Called from visitors' browsers: no key, throttled per IP, CORS per site."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [PublicRateThrottle]


class ServerView(SiteView):
    """Called by the site's backend services with one of the site's API keys."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasSiteApiKey]


class ConfigView(PublicView):
    @extend_schema(summary="The banner's config", responses={200: OpenApiTypes.OBJECT, **errors(404, 429)})
    def get(self, request, site_key):
        visitor = regime_config(site_key, client_region(request))
        response = Response(visitor.config)
        vary_on_region(response, visitor.varies)
        return response


class CookiesView(PublicView):
    @extend_schema(
        summary="The cookies the site declares, per category",
        description="What the preferences dialog lists: each cookie name with its provider, purpose and duration, "
        "as the site declared them or, where it did not, as the bundled Open Cookie Database describes them.",
        responses={200: OpenApiTypes.OBJECT, **errors(404, 429)},
    )
    def get(self, request, site_key):
        return Response(declared_cookies(site_key))


class ConsentCreateView(PublicView):
    permission_classes = [RegisteredOrigin]

    @extend_schema(
        summary="Record a decision",
        request=serializers.DecisionSerializer,
        responses={201: serializers.RecordedSerializer, **errors(400, 403, 404, 413, 429)},
    )
    def post(self, request, site_key):
        decision = serializers.DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        data = decision.validated_data
        record = record_decision(
            visitor_token=data.get("token"),
            from_browser=not has_site_api_key(request, self.site),
            site=self.site,
            action=data["action"],
            choices=data["categories"],
            consent_id=data.get("consent_id"),
            policy_version=data["policy_version"],
            source=data["source"],
            language=data["language"],
            url=data["url"],
            user_agent=request.headers.get("User-Agent", ""),
            ip_address=client_ip(request),
            country=client_country(request),
            region=client_region(request),
            gpc=sends_gpc(request) or data["gpc"],
            shown=data["shown"],
        )
        return Response(serializers.RecordedSerializer(record).data, status=status.HTTP_201_CREATED)


class ConsentDetailView(ServerView):
    @extend_schema(
        summary="A visitor's current consent",
        responses={200: serializers.CurrentConsentSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, site_key, consent_id):
        current = current_consent(self.site, self.consent_id())
        if current is None:
            raise UnknownVisitor(f"No decisions are recorded for consent id {consent_id}.")
        return Response(serializers.CurrentConsentSerializer(current).data)

    @extend_schema(
        summary="Erase a visitor's data", responses={200: serializers.ErasedSerializer, **errors(401, 403, 404)}
    )
    def delete(self, request, site_key, consent_id):
        deleted = erase_visitor(self.site, self.consent_id())
        return Response({"consent_id": consent_id, "erased_records": deleted})


class CategoryCheckView(ServerView):
    """The hot path. A plain GET whose site and key are cached is answered from one cache round
    trip without DRF's request handling; anything else takes the full path, which answers the
    same and gives every error."""

    def dispatch(self, request, *args, **kwargs):
        answer = self.cached_answer(request, kwargs)
        if answer is None:
            return super().dispatch(request, *args, **kwargs)
        allowed, reason = answer
        response = JsonResponse({"allowed": allowed, "reason": reason}, json_dumps_params=COMPACT_JSON)
        response["Allow"] = ", ".join(self.allowed_methods)
        return response

    @staticmethod
    def cached_answer(request, kwargs) -> tuple[bool, str] | None:
        # Only what the full path would answer 200 in JSON: GET, no format override, JSON accepted.
        if request.method != "GET" or request.META.get("QUERY_STRING"):
            return None
        if request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", "application/json"):
            return None
        token = bearer_token(request)
        if token is None:
            return None
        try:
            consent_id = uuid.UUID(kwargs["consent_id"])
        except ValueError:
            return None
        return check_with_api_key(
            site_key=kwargs["site_key"], token=token, consent_id=consent_id, key=kwargs["category"]
        )

    @extend_schema(
        summary="May I? One visitor, one category (fail-closed)",
        parameters=[serializers.CategoryCheckQuerySerializer],
        responses={200: serializers.CategoryCheckSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, site_key, consent_id, category):
        query = serializers.CategoryCheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        region = query.validated_data.get("region")
        allowed, reason = check_category(self.site, self.consent_id(), category, region=region)
        return Response({"allowed": allowed, "reason": reason})


class BatchCheckView(ServerView):
    # MAX_BATCH ids of 36 characters, quoted and separated, with room for the categories.
    max_body_bytes = 64 * 1024

    @extend_schema(
        summary="May I? Many visitors at once",
        request=serializers.BatchCheckSerializer,
        responses={200: serializers.BatchResultSerializer, **errors(400, 401, 403, 404, 413)},
    )
    def post(self, request, site_key):
        batch = serializers.BatchCheckSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        consent_ids = list(dict.fromkeys(batch.validated_data["consent_ids"]))
        return Response({"results": check_many(self.site, consent_ids, batch.validated_data.get("categories"))})


class HistoryView(ServerView):
    @extend_schema(
        summary="Every recorded decision of a visitor (proof)",
        responses={200: serializers.HistorySerializer, **errors(401, 403, 404)},
    )
    def get(self, request, site_key, consent_id):
        records = history(self.site, self.consent_id())
        return Response(serializers.HistorySerializer({"consent_id": consent_id, "records": records}).data)


class ExportView(ServerView):
    @extend_schema(
        summary="Everything held about a visitor (access, portability)",
        responses={200: serializers.ExportSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, site_key, consent_id):
        export = export_visitor(self.site, self.consent_id())
        response = Response(serializers.ExportSerializer(export).data)
        response["Content-Disposition"] = f'attachment; filename="consent-{consent_id}.json"'
        return response


class ForgetView(PublicView):
    """The widget's "forget me": the visitor erases their own decisions, proving they are theirs
    with the visitor token their browser made with the consent id."""

    permission_classes = [RegisteredOrigin]

    @extend_schema(
        summary="Erase my decisions (from the banner)",
        request=serializers.VisitorTokenSerializer,
        responses={200: serializers.ErasedSerializer, **errors(400, 403, 404, 429)},
    )
    def post(self, request, site_key, consent_id):
        token = visitor_token(request)
        erased = erase_visitor(self.site, self.consent_id(), visitor_token=token, from_browser=True)
        return Response({"consent_id": consent_id, "erased_records": erased})


class VisitorTokenView(PublicView):
    """A browser whose visitor's first decision predates visitor tokens claims one, once
    (consent.services.visitors). With the token already stored, it only checks it."""

    permission_classes = [RegisteredOrigin]

    @extend_schema(
        summary="Claim the visitor token of my consent id (once, for ids older than tokens)",
        request=serializers.VisitorTokenSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 429)},
    )
    def post(self, request, site_key, consent_id):
        token = visitor_token(request)
        if not token:
            raise ValidationError({"token": ["Send the visitor token to claim."]})
        claim(self.site.id, self.consent_id(), token)
        return Response({"consent_id": consent_id, "claimed": True})


def visitor_token(request) -> str | None:
    """The visitor token of a JSON body ({"token": ...}); an empty body has none."""
    body = serializers.VisitorTokenSerializer(data=request.data if isinstance(request.data, dict) else {})
    body.is_valid(raise_exception=True)
    return body.validated_data.get("token")


def has_site_api_key(request, site) -> bool:
    """Whether the request carries an active API key of this site (a backend service, which acts
    for any of the site's visitors without their token)."""
    token = bearer_token(request)
    owner = authenticate_api_key(token) if token else None
    return bool(owner and owner.site_id == site.id)


class PolicyListView(PublicView):
    @extend_schema(
        summary="Every published version of the site's cookie policy",
        responses={200: serializers.PolicyVersionSerializer(many=True), **errors(404, 429)},
    )
    def get(self, request, site_key):
        return Response(serializers.PolicyVersionSerializer(policy_versions(self.site), many=True).data)
