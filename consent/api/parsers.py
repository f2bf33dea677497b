"""JSON parsing with a size limit: an oversized body is refused before it is read whole."""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from consent.api.errors import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        view = parser_context.get("view") if parser_context else None
        # A view may need more (the batch check's 1,000 ids); every other body gets the setting.
        limit = getattr(view, "max_body_bytes", None) or settings.CMP_MAX_BODY_BYTES
        request = parser_context["request"] if parser_context else None
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ParseError("The body is not valid JSON here: it is nested too deeply.") from None
        try:
            # JSON may escape a lone surrogate (\ud800), which is no character: nothing could store
            # or echo it. Refuse it here rather than fail later.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("The body is not valid Unicode: it holds a lone surrogate escape.") from None
        return data
