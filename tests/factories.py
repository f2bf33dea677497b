"""Small factory functions for tests: real rows through the real services."""

import uuid

from consent.models import Site
from consent.services.records import record_decision
from consent.services.sites import create_api_key, create_site, site_snapshot


def make_site(name: str = "Shop", origins: tuple[str, ...] = ("https://shop.example",), **kwargs) -> Site:
    return create_site(name=name, origins=list(origins), **kwargs)


def make_api_key(site: Site, name: str = "test") -> str:
    return create_api_key(site=site, name=name)[1]


def decide(site: Site, action: str = "custom", consent_id: uuid.UUID | None = None, policy_version: int = 1, **choices):
    """Record a decision as the banner would; choices are category=bool."""
    return record_decision(
        site=site_snapshot(site.key),
        action=action,
        choices=choices,
        consent_id=consent_id,
        policy_version=policy_version,
    )
