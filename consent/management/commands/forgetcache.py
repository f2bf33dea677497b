from django.core.management.base import BaseCommand

from consent import cache


class Command(BaseCommand):
    help = (
        "Make every process ignore what the shared cache holds (it moves the cache epoch on). Run it once "
        "after an upgrade that changed the cache's FORMAT, when no process of the old release is left."
    )

    def handle(self, *args, **options):
        cache.forget_all()
        self.stdout.write("Every cached entry is now a miss in every process.")
