"""Data residency: which database holds a site's visitors' data.

An operator hosting sites in several data centres names one database per region
(`DATABASE_URLS_BY_REGION=eu=postgres://...,us=postgres://...`, aliases `region_eu`, `region_us`)
and pins each site to one when it creates it (`Site.data_region`; empty: the default database).
Everything a site's visitors leave behind lives in that site's database alone: the decision log,
the states, the erasure proofs and seals, the roll-ups and impressions, the webhook outbox (its
payloads are decisions). Sites, their configuration, users and the audit trail stay in the default
database, which the admin reads for every site; a region's database holds a copy of its own sites'
rows (and their webhook endpoints) so that its foreign keys hold and a site's deletion cascades
there too.

`ResidencyRouter` sends a query on the visitors' data to the site's database when Django names the
site (`site.records.all()`, saving a record) and refuses one that names none while regions are
configured (`CMP_RESIDENCY_STRICT`): a query that forgot its site fails loudly instead of writing a
European visitor's decision to the American database. Queries across sites say where they run
(`.using(alias)` for each of `databases()`).

A site's region is chosen when it is created and never changes (moving a site is moving its data),
so each process may remember it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, transaction

# The models of the visitors' data, kept in the database of their site's region.
RESIDENT = frozenset(
    {
        "consentrecord",
        "consentstate",
        "erasuremarker",
        "erasedrecord",
        "proofcheckpoint",
        "dailyconsentstat",
        "pendingremoval",
        "dailyimpressions",
        "rollupmark",
        "webhookdelivery",
        "webhookattempt",
    }
)

_site_databases: dict[int, str] = {}


class ResidencyError(RuntimeError):
    """A query on the visitors' data named no site and no database while regions are configured."""


def regions() -> dict[str, str]:
    """Each configured region's name and database alias."""
    return settings.CMP_DATA_REGIONS


def databases() -> list[str]:
    """Every database that holds visitors' data: the default one, then each region's that a site
    is pinned to (a region's database holds its sites' data alone, so one without sites has none)."""
    if not regions():
        return [DEFAULT_DB_ALIAS]
    from consent.models import Site

    pinned = set(Site.objects.using(DEFAULT_DB_ALIAS).exclude(data_region="").values_list("data_region", flat=True))
    return [DEFAULT_DB_ALIAS, *(alias for region, alias in regions().items() if region in pinned)]


def alias_of(region: str) -> str:
    """The database of a data region ("" is the default database)."""
    if not region:
        return DEFAULT_DB_ALIAS
    try:
        return regions()[region]
    except KeyError:
        raise ImproperlyConfigured(
            f"A site is pinned to the data region {region!r}, which DATABASE_URLS_BY_REGION does not name."
        ) from None


def site_database(site) -> str:
    """The database holding the visitors' data of `site`: a Site, a SiteSnapshot or a site id."""
    if not regions():
        return DEFAULT_DB_ALIAS
    if not isinstance(site, int):
        return alias_of(site.data_region)
    alias = _site_databases.get(site)
    if alias is None:
        from consent.models import Site

        region = Site.objects.using(DEFAULT_DB_ALIAS).filter(pk=site).values_list("data_region", flat=True).first()
        alias = alias_of(region or "")
        if region is not None:  # no such site (yet): not remembered
            _site_databases[site] = alias
    return alias


def states_cached(site) -> bool:
    """Whether the shared cache (Redis, beside the default database) may hold this site's visitors'
    states: a site pinned to a region keeps them in its region alone, and its checks read its
    database. (The cache's coherence also rides on the default database's commits: consent.cache
    marks and clears entries around them, and moves its epoch within them.)"""
    return site_database(site) == DEFAULT_DB_ALIAS


def control_database(using: str) -> str:
    """Where a heavy read running on `using` reads sites, configurations and users: the same
    database (the default one or its replica), unless `using` is a region's, which holds none."""
    return DEFAULT_DB_ALIAS if using in regions().values() else using


def is_resident(model) -> bool:
    """A model (or an instance of one) of the visitors' data."""
    return model._meta.app_label == "consent" and model._meta.model_name in RESIDENT


class ResidencyRouter:
    """Sends the visitors' data of a site to the site's database (see the module's docstring)."""

    def db_for_read(self, model, **hints):
        return self._route(model, hints)

    def db_for_write(self, model, **hints):
        return self._route(model, hints)

    def allow_relation(self, obj1, obj2, **hints):
        # A record's site lives in the default database and is copied to the region's.
        if is_resident(obj1) or is_resident(obj2):
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return None

    def _route(self, model, hints):
        if not is_resident(model):
            return DEFAULT_DB_ALIAS if regions() else None
        if not regions():
            return DEFAULT_DB_ALIAS
        instance = hints.get("instance")
        if instance is not None:
            from consent.models import Site

            if isinstance(instance, Site):
                return site_database(instance)
            if is_resident(instance) and instance._state.db:
                return instance._state.db
            site_id = getattr(instance, "site_id", None)
            if site_id is not None:
                return site_database(site_id)
        if settings.CMP_RESIDENCY_STRICT:
            raise ResidencyError(
                f"{model.__name__} queried without naming its site or database, while data regions are configured."
            )
        return DEFAULT_DB_ALIAS


# Receivers of the default database's saves and deletes (connected in consent.apps); the copies'
# own saves, on a region's database, are no news.


def on_site_saved(sender, instance, using, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        mirror_site(instance)


def on_site_deleted(sender, instance, using, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        forget_site(instance)


def on_endpoint_saved(sender, instance, using, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        mirror_endpoint(instance)


def on_endpoint_deleted(sender, instance, using, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        forget_endpoint(instance)


def mirror_site(site) -> None:
    """Copy the site's row to its region's database, where its data's foreign keys point."""
    alias = site_database(site)
    if alias == DEFAULT_DB_ALIAS:
        return
    _site_databases[site.pk] = alias
    _copy(site, alias)


def mirror_endpoint(endpoint) -> None:
    """Copy a webhook endpoint's row to its site's database, where its deliveries wait."""
    alias = site_database(endpoint.site_id)
    if alias != DEFAULT_DB_ALIAS:
        _copy(endpoint, alias)


def _copy(instance, alias: str) -> None:
    model = type(instance)
    fields = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
    model.objects.using(alias).update_or_create(pk=instance.pk, defaults=fields)


def forget_site(site) -> None:
    """A deleted site's copy, and with it all its visitors' data, leave its region's database."""
    _site_databases.pop(site.pk, None)
    alias = alias_of(site.data_region) if regions() else DEFAULT_DB_ALIAS
    if alias != DEFAULT_DB_ALIAS:
        with transaction.atomic(using=alias):
            type(site).objects.using(alias).filter(pk=site.pk).delete()


def forget_endpoint(endpoint) -> None:
    alias = _site_databases.get(endpoint.site_id, DEFAULT_DB_ALIAS)  # a deleted site's copy takes it along
    if alias != DEFAULT_DB_ALIAS:
        type(endpoint).objects.using(alias).filter(pk=endpoint.pk).delete()
