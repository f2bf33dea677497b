from django.apps import AppConfig
from django.core.signals import request_finished, request_started, setting_changed
from django.db.models.signals import post_delete, post_save


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self):
        # Every receiver is connected here, so that a fresh worker has them all before its first
        # request, whichever modules it happens to have imported.
        from corsheaders.signals import check_request_enabled

        from consent import cache, residency
        from consent.api.cors import cors_allow_site_origins
        from consent.models import ApiKey, Category, PolicyVersion, Site, SiteOrigin, WebhookEndpoint

        check_request_enabled.connect(cors_allow_site_origins, dispatch_uid="consent_cors_site_origins")
        request_started.connect(cache.open_request, dispatch_uid="consent_cache_open_request")
        request_finished.connect(cache.close_request, dispatch_uid="consent_cache_close_request")
        setting_changed.connect(cache.reset, dispatch_uid="consent_cache_reset")
        for signal in (post_save, post_delete):
            name = signal is post_save and "save" or "delete"
            signal.connect(cache.on_site_saved, sender=Site, dispatch_uid=f"consent_cache_site_{name}")
            for part in (SiteOrigin, Category, PolicyVersion, WebhookEndpoint):
                signal.connect(
                    cache.on_site_part_saved, sender=part, dispatch_uid=f"consent_cache_{part.__name__}_{name}"
                )
            signal.connect(cache.on_api_key_saved, sender=ApiKey, dispatch_uid=f"consent_cache_api_key_{name}")
        # A region's database keeps a copy of its sites and their webhook endpoints (consent.residency).
        post_save.connect(residency.on_site_saved, sender=Site, dispatch_uid="consent_residency_site_save")
        post_delete.connect(residency.on_site_deleted, sender=Site, dispatch_uid="consent_residency_site_delete")
        post_save.connect(
            residency.on_endpoint_saved, sender=WebhookEndpoint, dispatch_uid="consent_residency_endpoint_save"
        )
        post_delete.connect(
            residency.on_endpoint_deleted, sender=WebhookEndpoint, dispatch_uid="consent_residency_endpoint_delete"
        )
