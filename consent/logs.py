"""Logging that keeps visitors out of the logs: a consent id is personal data, and Django logs the
path of every 4xx and 5xx ("Forbidden: /api/v1/sites/KEY/consents/<id>/forget")."""

import logging
import re

UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


class RedactConsentIds(logging.Filter):
    """Replaces every UUID in a record's message by `<id>`, so that an erased visitor's id is not
    kept in the logs (and a live one not spread through them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if UUID.search(message):
            record.msg, record.args = UUID.sub("<id>", message), ()
        return True
