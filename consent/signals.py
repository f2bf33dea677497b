"""Cache invalidation: a change to a site's configuration clears its snapshot; each request
has its own memo of snapshots."""

from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from consent.models import Category, PolicyVersion, Site, SiteOrigin
from consent.services.sites import close_request_memo, forget_site_snapshot, open_request_memo

request_started.connect(open_request_memo, dispatch_uid="site_snapshot_memo_open")
request_finished.connect(close_request_memo, dispatch_uid="site_snapshot_memo_close")


@receiver([post_save, post_delete], sender=Site)
def site_changed(sender, instance, **kwargs):
    forget_site_snapshot(instance.key)


@receiver([post_save, post_delete], sender=SiteOrigin)
@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=PolicyVersion)
def site_part_changed(sender, instance, **kwargs):
    try:
        site_key = instance.site.key
    except Site.DoesNotExist:
        return  # deleted together with its site, whose own signal cleared the cache
    forget_site_snapshot(site_key)
