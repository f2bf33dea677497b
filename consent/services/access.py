"""Which sites a staff user may see or change, and how far (SiteAccess). Superusers: every site."""

from django.db.models import QuerySet

from consent.models import Site, SiteAccess, SiteRole

RANK = {SiteRole.FIGURES: 1, SiteRole.BANNER: 2, SiteRole.INTEGRATIONS: 3}


def _roles_from(role: str) -> list[str]:
    return [r for r, rank in RANK.items() if rank >= RANK[role]]


def sites_for(user, role: str = SiteRole.FIGURES) -> QuerySet[Site]:
    """The sites the user holds at least this role on."""
    if not (user.is_active and user.is_staff):
        return Site.objects.none()
    if user.is_superuser:
        return Site.objects.all()
    return Site.objects.filter(access__user=user, access__role__in=_roles_from(role))


def may(user, site, role: str = SiteRole.FIGURES) -> bool:
    """Whether the user holds at least this role on the site (a Site or its id)."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    site_id = getattr(site, "pk", site)
    return SiteAccess.objects.filter(user=user, site_id=site_id, role__in=_roles_from(role)).exists()


def has_any_site(user) -> bool:
    return user.is_active and user.is_staff and (user.is_superuser or SiteAccess.objects.filter(user=user).exists())
