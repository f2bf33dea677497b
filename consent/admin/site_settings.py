"""The site admin: a site with its origins, categories and policy versions, the banner preview and
the policy actions."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.clickjacking import xframe_options_sameorigin

from consent.admin.access import SitePartInline, SiteScopedAdmin, SiteTableInline
from consent.admin.dashboard import dashboard_view
from consent.admin.forms import BANNER_FIELDS, CategoryForm, SiteForm
from consent.admin.scans import scanner_field
from consent.api.client_info import region_headers
from consent.models import (
    Category,
    ConfigChange,
    PolicyVersion,
    Site,
    SiteOrigin,
)
from consent.residency import regions
from consent.services.access import may, sites_for
from consent.services.audit import field_changes, record_change
from consent.services.config import regimes_in_use
from consent.services.sites import publish_policy
from consent.widget.views import api_base, consent_mode_tag, embed_tag

RECENT_CHANGES = 10
_public_url: ContextVar[str] = ContextVar("public_url", default="https://CMP_HOST")
_viewer: ContextVar = ContextVar("viewer", default=None)


def _copyable(element_id: str, text: str) -> str:
    """Text to paste elsewhere, with a Copy button (static/consent/admin/copy.js)."""
    return format_html(
        '<code id="{}">{}</code> <button type="button" class="button" data-copy="#{}">Copy</button>',
        element_id,
        text,
        element_id,
    )


def _form_changes(form) -> dict[str, list]:
    return field_changes(form.initial, form.cleaned_data, form.changed_data)


class SiteOriginInline(SiteTableInline):
    model = SiteOrigin
    extra = 1


class CategoryInline(SitePartInline, admin.StackedInline):
    model = Category
    form = CategoryForm
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        languages = tuple(obj.language_list()) if obj else ("en",)
        form = CategoryForm.for_languages(languages)
        fields = ["key", "position", "required", "patterns"]
        for lang in languages:
            fields += [f"name_{lang}", f"description_{lang}"]
        return super().get_formset(request, obj, form=form, fields=fields, **kwargs)

    def get_fieldsets(self, request, obj=None):
        languages = obj.language_list() if obj else ["en"]
        texts = [(f"name_{lang}", f"description_{lang}") for lang in languages]
        return [(None, {"fields": [("key", "position", "required"), *texts, "patterns"]})]


class PolicyVersionInline(SiteTableInline):
    model = PolicyVersion
    extra = 0
    fields = ["version", "published_at", "material", "url", "summary"]
    readonly_fields = ["version", "published_at", "material"]
    can_delete = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, obj=None):
        return False  # published with the "Publish a new policy version" action, numbered for you


@admin.register(Site)
class SiteAdmin(SiteScopedAdmin):
    site_path = "pk"

    def site_id_of(self, obj) -> int:
        return obj.pk

    def get_queryset(self, request):
        sites = super(SiteScopedAdmin, self).get_queryset(request)
        return sites if request.user.is_superuser else sites.filter(pk__in=sites_for(request.user))

    def has_add_permission(self, request):
        return request.user.is_superuser

    form = SiteForm
    list_display = ["name", "key_display", "languages", "consent_lifetime_days", "created_at", "dashboard_link"]
    search_fields = ["name", "key"]
    readonly_fields = [
        "key", "embed_tag", "consent_mode_tag", "preview", "region_headers",
        "created_at", "updated_at", "recent_changes", "scanner",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["name", "key", "embed_tag"]}),
        ("Languages", {"fields": ["languages", "default_language"]}),
        ("Look", {"fields": ["primary_colour", "position", "settings_button", "preview"]}),
        ("Rules", {"fields": ["consent_lifetime_days", "retention_days", "reload_on_withdrawal", "gpc_overridable"]}),
        ("Controller", {"fields": ["controller_name", "controller_contact", "recipients"]}),
        (
            "Regimes by region",
            {"fields": ["region_headers", "opt_in_regions", "opt_out_regions", "notice_regions", "default_regime"]},
        ),
        (
            "Google Consent Mode",
            {
                "classes": ["collapse"],
                "fields": [
                    "consent_mode_tag",
                    "ads_data_redaction",
                    "url_passthrough",
                    "google_developer_id",
                    "consent_mode_regions",
                ],
            },
        ),
        ("Other banner texts", {"classes": ["collapse"], "fields": ["banner_texts"]}),
        ("Cookie scanner", {"fields": ["scan_weekly", "scanner"]}),
        ("History", {"fields": ["created_at", "updated_at", "recent_changes"]}),
    ]
    inlines = [SiteOriginInline, CategoryInline, PolicyVersionInline]
    actions = ["publish_minor_policy", "publish_material_policy"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "data_region"] if obj is not None else fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "data_region":
            choices = [("", "The default database"), *((name, name) for name in regions())]
            return forms.ChoiceField(choices=choices, required=False, label="Data region", help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Site key")
    def key_display(self, site):
        return format_html("<code>{}</code>", site.key)

    class Media:
        js = ["consent/admin/copy.js", "consent/admin/preview.js"]
        css = {"all": ["consent/admin/site.css"]}

    def changeform_view(self, request, *args, **kwargs):
        # The embed tag names this server as the browser reaches it (or CMP_PUBLIC_URL), and the
        # scanner's part offers Scan now to those who may use it; fields are rendered with the
        # page, so render it while both are set.
        reset, viewer = _public_url.set(api_base(request)), _viewer.set(request.user)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            return response.render() if hasattr(response, "render") else response
        finally:
            _public_url.reset(reset)
            _viewer.reset(viewer)

    @admin.display(description="Embed tag (put it in <head>)")
    def embed_tag(self, site):
        if not site.pk:
            return "Save the site first."
        return _copyable("embed-tag", embed_tag(_public_url.get(), site.key))

    @admin.display(description="Consent Mode stub (first in <head>, before Google's tags)")
    def consent_mode_tag(self, site):
        if not site.pk:
            return "Save the site first."
        return _copyable("consent-mode-tag", consent_mode_tag(_public_url.get(), site.key))

    @admin.display(description="Visitor's region")
    def region_headers(self, site):
        headers = region_headers()
        if not headers:
            return (
                "Unknown: this server reads no region header, so every visitor gets the strictest regime the site "
                "uses. Set CMP_COUNTRY_HEADER and CMP_REGION_HEADER to the headers your CDN adds "
                "(docs/operations.md, \u201cRegions behind a CDN\u201d)."
            )
        return format_html("Read from the {} header(s) your CDN or proxy sets.", ", ".join(headers))

    @admin.display(description="Dashboard")
    def dashboard_link(self, site):
        return format_html('<a href="{}?site={}">Figures</a>', reverse("admin:consent_dashboard"), site.pk)

    @admin.display(description="Preview (with your unsaved edits)")
    def preview(self, site):
        if not site.pk:
            return "Save the site first to see its banner."
        # static/consent/admin/preview.js follows the form's unsaved edits and the framed page's height.
        page = reverse("widget-preview", args=[site.key])
        others = format_html_join(
            "",
            ', <a href="{}?regime={}" target="_blank">as a visitor under {}</a>',
            ((page, regime, regime.replace("_", "-")) for regime in regimes_in_use(site.key)[1:]),
        )
        return format_html(
            '<iframe id="banner-preview" title="Banner preview" src="{}" class="banner-preview"></iframe>'
            '<p><a href="{}" target="_blank">Open the preview in a new tab</a>{} (saved settings, with the '
            "preferences dialog)</p>",
            reverse("admin:consent_site_preview", args=[site.pk]),
            page,
            others,
        )

    @admin.display(description="Scans")
    def scanner(self, site):
        if not site.pk:
            return "Save the site first to scan it."
        return scanner_field(site, _viewer.get())

    @admin.display(description="Recent changes")
    def recent_changes(self, site):
        if not site.pk:
            return "-"
        changes = ConfigChange.objects.filter(site=site)[:RECENT_CHANGES]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            ((f"{c.at:%Y-%m-%d %H:%M}", c.username, c.action, c.target, "; ".join(c.changes)) for c in changes),
        )
        return format_html(
            '<table><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th>'
            '<th scope="col">Fields</th></tr></thead><tbody>{}</tbody></table><a href="{}?site__id__exact={}">'
            "The whole audit trail</a>",
            rows,
            reverse("admin:consent_configchange_changelist"),
            site.pk,
        )

    def get_form(self, request, obj=None, **kwargs):
        languages = tuple(obj.language_list()) if obj else ()
        return super().get_form(request, obj, form=SiteForm.for_languages(languages), **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(self.fieldsets)
        if obj:
            texts = [tuple(f"{key}_{lang}" for key in BANNER_FIELDS) for lang in obj.language_list()]
            fieldsets.insert(2, ("Banner texts", {"fields": texts}))
        if regions():
            where = "Chosen once, when the site is created: its decisions, states and figures are kept there alone."
            fieldsets.insert(1, ("Data residency", {"fields": ["data_region"], "description": where}))
        return fieldsets

    def get_urls(self):
        extra = [
            path("dashboard/", self.admin_site.admin_view(dashboard_view), name="consent_dashboard"),
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(xframe_options_sameorigin(self.preview_view)),
                name="consent_site_preview",
            ),
        ]
        return extra + super().get_urls()

    def preview_view(self, request, pk):
        """A sample page with the site's banner in preview mode (saved settings), framed by the
        site's change page; the widget's own preview page cannot be framed."""
        site = get_object_or_404(Site, pk=pk)
        if not may(request.user, site):
            raise PermissionDenied
        draft = request.GET.get("draft", "")
        return TemplateResponse(request, "admin/consent/site_preview.html", {"site": site, "draft": draft})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changes = _form_changes(form)
        if changes or not change:
            record_change(
                site=obj, user=request.user, action="changed" if change else "added", target="site", changes=changes
            )

    def save_formset(self, request, form, formset, change):
        entries = []
        deleted = formset.deleted_forms
        for inline_form in formset.forms:
            label = f"{inline_form._meta.model._meta.verbose_name} {inline_form.instance}"
            if inline_form in deleted:
                if inline_form.instance.pk:
                    entries.append(("deleted", label, {}))
            elif inline_form.has_changed():
                action = "changed" if inline_form.instance.pk else "added"
                entries.append((action, label, _form_changes(inline_form)))
        super().save_formset(request, form, formset, change)
        for action, label, changes in entries:
            record_change(site=form.instance, user=request.user, action=action, target=label, changes=changes)

    @admin.action(description="Publish a new minor policy version (decisions stay valid)")
    def publish_minor_policy(self, request, queryset):
        for site in queryset:
            version = publish_policy(site=site, material=False, by=request.user)
            messages.success(request, f"{site}: published version {version.version}.")

    @admin.action(description="Publish a new material policy version (visitors are asked again)")
    def publish_material_policy(self, request, queryset):
        for site in queryset:
            version = publish_policy(site=site, material=True, by=request.user)
            messages.success(request, f"{site}: published material version {version.version}.")
