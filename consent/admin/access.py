"""Per-site access in the admin: a staff user who is not a superuser sees and changes only the sites
they were given (SiteAccess), as far as their role goes, whatever Django model permissions say."""

from operator import attrgetter

from django.contrib import admin, messages
from django.db import DEFAULT_DB_ALIAS
from django.http import QueryDict

from consent.models import SiteAccess, SiteRole
from consent.residency import regions, site_database
from consent.services.access import has_any_site, may, sites_for


class SiteFilter(admin.RelatedFieldListFilter):
    """The "By site" filter, offering only the sites the user may see (their names are no one
    else's business), without scanning the filtered table for them."""

    def field_choices(self, field, request, model_admin):
        return [(site.pk, str(site)) for site in sites_for(request.user).order_by("name")]


class SiteScopedAdmin(admin.ModelAdmin):
    """Rows that belong to a site. `site_path` is the lookup from a row to its site."""

    site_path = "site"
    view_role = SiteRole.FIGURES
    change_role = SiteRole.BANNER

    def site_id_of(self, obj) -> int | None:
        return attrgetter(self.site_path.replace("__", ".") + "_id")(obj)

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.site_path}__in": sites_for(request.user, self.view_role)})

    def has_module_permission(self, request):
        return has_any_site(request.user)

    def _may(self, request, obj, role) -> bool:
        if obj is None:
            return sites_for(request.user, role).exists()
        return may(request.user, self.site_id_of(obj), role)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj, self.view_role)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj, self.change_role)

    def has_add_permission(self, request):
        return self._may(request, None, self.change_role)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "site":
            kwargs["queryset"] = sites_for(request.user, self.change_role)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SitePartInline:
    """An inline of a site's change page (origins, categories, policy versions): editable by those
    who may edit the site's banner and configuration."""

    def has_view_permission(self, request, obj=None):
        return obj is None or may(request.user, obj, SiteRole.FIGURES)

    def has_change_permission(self, request, obj=None):
        return obj is not None and may(request.user, obj, SiteRole.BANNER)

    def has_add_permission(self, request, obj=None):
        return obj is not None and may(request.user, obj, SiteRole.BANNER)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and may(request.user, obj, SiteRole.BANNER)


class SiteTableInline(SitePartInline, admin.TabularInline):
    """A site part shown as a table. Django's table has no <label> for a row's inputs and two
    unnamed columns: each input is named after its column, and the columns get names."""

    template = "admin/consent/tabular.html"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                for name, field in form.fields.items():
                    field.widget.attrs.setdefault("aria-label", str(field.label or name))

        return Labelled


@admin.register(SiteAccess)
class SiteAccessAdmin(admin.ModelAdmin):
    """Who may see which site, and how far: superusers give it (Django's permissions)."""

    list_display = ["user", "site", "role"]
    list_filter = ["role", "site"]
    autocomplete_fields = []


class ReadOnlyAdmin(SiteScopedAdmin):
    """Proof is not edited: records are shown, never changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ResidentAdmin(ReadOnlyAdmin):
    """Visitors' data, kept in its site's database (consent.residency): a list shows one database's
    rows, those of the site chosen in "By site" (the filter stays in a row's link), else the
    default database's."""

    site_filter = "site__id__exact"

    def database(self, request) -> str:
        chosen = request.GET.get(self.site_filter) or QueryDict(request.GET.get("_changelist_filters", "")).get(
            self.site_filter
        )
        return site_database(int(chosen)) if chosen and chosen.isdigit() else DEFAULT_DB_ALIAS

    def get_queryset(self, request):
        rows = admin.ModelAdmin.get_queryset(self, request).using(self.database(request))
        if request.user.is_superuser:
            return rows
        # Evaluated here: a subquery cannot reach from a region's database into the default one.
        allowed = list(sites_for(request.user, self.view_role).values_list("pk", flat=True))
        return rows.filter(**{f"{self.site_path}__in": allowed})

    def changelist_view(self, request, extra_context=None):
        if regions() and not request.GET.get(self.site_filter):
            messages.info(request, "Sites pinned to a data region keep these rows there: choose the site to see them.")
        return super().changelist_view(request, extra_context)
