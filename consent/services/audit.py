"""The configuration audit trail: every change to a site's set-up, who made it, field by field."""

import json
from collections.abc import Iterable, Mapping

from django.core.serializers.json import DjangoJSONEncoder

from consent.models import ConfigChange, Site


def _plain(value):
    """A value as JSON can hold it: model instances by their text, dates as ISO strings."""
    if hasattr(value, "_meta"):
        return str(value)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def field_changes(before: Mapping, after: Mapping, fields: Iterable[str]) -> dict[str, list]:
    """{"field": [before, after]} for each of the fields whose value differs."""
    changes = {}
    for name in fields:
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def record_change(*, site: Site, user, action: str, target: str, changes: Mapping | None = None) -> ConfigChange:
    """Keep one entry of the audit trail. `user` is a staff user, or a text naming who else acted
    (e.g. "manage.py publishpolicy"), or None ("system"). The site's name and the user's name are
    copied, so the entry still reads right after either is renamed or deleted."""
    if isinstance(user, str):
        name, user = user, None
    else:
        name = getattr(user, "get_username", lambda: "")() or "system"
    return ConfigChange.objects.create(
        site=site,
        site_name=site.name,
        user=user if getattr(user, "pk", None) else None,
        username=name,
        action=action,
        target=target,
        changes=dict(changes or {}),
    )
