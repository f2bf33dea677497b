"""Sample figures for the demo: a few weeks of decisions and banner impressions, so that a newcomer's
dashboard shows every chart. Every sample record says so in its user agent (SAMPLE_AGENT) and its
chain verifies like any other; real decisions made on the demo page sit beside them. They are
written to the site's database (consent.residency), as its real ones are."""

import random
import uuid
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState, DailyImpressions, Site
from consent.residency import site_database
from consent.services.records import chained_history

SAMPLE_AGENT = "sample data (manage.py demo)"
COUNTRIES = ("DE", "FR", "ES", "AT", "NL", "IT", "")
# Visitors from US states with privacy laws, under the opt-out regime: the few who decide opt out.
US_REGIONS = ("US-CA", "US-TX", "US-CO", "US-VA")


def add_sample_decisions(site: Site, *, days: int = 42, seed: int = 7) -> int:
    """Decisions over the last `days` days, the opt-in slowly rising (as after a clearer banner), and
    the banner impressions they came from. Does nothing if the site has sample decisions already.
    Returns how many records it added."""
    database = site_database(site)
    if ConsentRecord.objects.using(database).filter(site=site, user_agent=SAMPLE_AGENT).exists():
        return 0
    rng = random.Random(seed)
    languages = site.language_list()
    keys = list(site.categories.values_list("key", flat=True))
    today = timezone.now().astimezone(UTC).date()
    records, states, impressions = [], [], {}
    for age in range(days, 0, -1):
        day = today - timedelta(days=age)
        trend = (days - age) / days  # 0 at the start, 1 yesterday
        for _ in range(rng.randint(25, 45)):
            language, country = rng.choice(languages), rng.choice(COUNTRIES)
            if rng.random() < 0.2:
                decisions = [_sample_opt_out(rng, keys, language, rng.choice(US_REGIONS), day)]
                visitor_records, state = chained_history(site.id, site.key, uuid.uuid4(), decisions)
                records += visitor_records
                states.append(state)
                continue
            impressions[(day, language, country)] = impressions.get((day, language, country), 0) + rng.randint(1, 2)
            decisions = [_sample_decision(rng, keys, trend, language, country, day)]
            if rng.random() < 0.15:  # some change their mind a few days later
                later = min(day + timedelta(days=rng.randint(1, 5)), today)
                decisions.append(_sample_decision(rng, keys, trend, language, country, later, changed=True))
            visitor_records, state = chained_history(site.id, site.key, uuid.uuid4(), decisions)
            records += visitor_records
            states.append(state)
    with transaction.atomic(using=database):
        ConsentRecord.objects.using(database).bulk_create(records, batch_size=2000)
        ConsentState.objects.using(database).bulk_create(states, batch_size=2000)
        DailyImpressions.objects.using(database).bulk_create(
            [
                DailyImpressions(site=site, day=day, language=language, country=country, count=count)
                for (day, language, country), count in impressions.items()
            ],
            ignore_conflicts=True,
        )
    return len(records)


def _sample_decision(rng, keys, trend, language, country, day, *, changed=False) -> dict:
    roll = rng.random()
    if changed:
        action = "withdraw" if roll < 0.5 else "custom"
    else:
        action = "accept_all" if roll < 0.45 + 0.15 * trend else ("reject_all" if roll < 0.8 else "custom")
    odds = {"preferences": 0.7, "analytics": 0.5, "marketing": 0.2}
    categories = {
        key: key == "authentication"
        or action == "accept_all"
        or (action == "custom" and rng.random() < odds.get(key, 0.4))
        for key in keys
    }
    moment = datetime.combine(day, time(rng.randint(7, 22), rng.randint(0, 59)), tzinfo=UTC)
    return {
        "categories": categories,
        "action": action,
        "source": "banner",
        "policy_version": 1,
        "language": language,
        "country": country,
        "region": country,
        "user_agent": SAMPLE_AGENT,
        "created_at": moment,
    }


def _sample_opt_out(rng, keys, language, region, day) -> dict:
    """An opt-out of the sale or sharing of data in a US state: in the dialog, or by Global Privacy
    Control (recorded at once)."""
    by_gpc = rng.random() < 0.4
    moment = datetime.combine(day, time(rng.randint(7, 22), rng.randint(0, 59)), tzinfo=UTC)
    return {
        "categories": {key: key != "marketing" for key in keys},
        "action": "custom",
        "source": "gpc" if by_gpc else "preferences",
        "gpc": by_gpc,
        "policy_version": 1,
        "language": language,
        "country": region[:2],
        "region": region,
        "regime": "opt_out",
        "user_agent": SAMPLE_AGENT,
        "created_at": moment,
    }
