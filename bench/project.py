"""What a benchmark script does first: the project on sys.path, Django set up on the database the
script names (and Redis, or none), a secret key of the run's own, and, where asked, the database
migrated. Scripts run as `python bench/NAME.py`, so this module is beside them on sys.path."""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database_url: str, *, redis_url: str = "", migrate: bool = False, **environ: str) -> None:
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="cmp_site.settings", **environ)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    # The server refuses to start without a key: one of the run's own, unless the caller set one.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
