"""Consent analytics on hand-built data: rates, the current view, expiry, withdrawals, erasure,
regimes and regions, and the incremental roll-up (run twice: the same; new records: picked up)."""

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from consent.models import (
    Category,
    ConsentRecord,
    ConsentState,
    DailyConsentStat,
    PendingRemoval,
    Regime,
    RollupMark,
    StatView,
)
from consent.selectors.figures import consent_figures, interaction_rates
from consent.services.records import decided_categories, record_decision
from consent.services.rights import erase_states, erase_visitor
from consent.services.rollup import record_impression, rollup
from consent.services.sites import site_snapshot
from tests.factories import decide, make_site

TODAY = timezone.now().astimezone(UTC).date()
DAY1, DAY2 = TODAY - timedelta(days=3), TODAY - timedelta(days=2)
LATER = timedelta(minutes=10)


def record(
    site, visitor, action, day, *, version=1, language="en", country="DE", regime=Regime.OPT_IN, region="", **choices
):
    """A decision on a given day (noon UTC), as the recording service would store it."""
    return ConsentRecord.objects.create(
        site=site,
        consent_id=visitor,
        categories=decided_categories(site_snapshot(site.key), action, choices),
        action=action,
        source="banner",
        policy_version=version,
        language=language,
        country=country,
        regime=regime,
        region=region,
        created_at=datetime.combine(day, time(12), tzinfo=UTC),
        prev_hash="",
        hash="",
    )


def decide_in(site, region, action, consent_id=None, **choices):
    """A decision now, from a visitor in `region` (as the CDN tells it): under its regime."""
    snapshot = site_snapshot(site.key)
    return record_decision(
        site=snapshot, action=action, choices=choices, consent_id=consent_id, policy_version=1, region=region
    )


@pytest.fixture
def minds(site):
    """A accepts on day 1 and narrows to analytics on day 2; B rejects on day 1; C accepts on
    day 1 and withdraws on day 2; D chooses marketing only on day 2, in French from France."""
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    record(site, a, "accept_all", DAY1)
    record(site, b, "reject_all", DAY1)
    record(site, c, "accept_all", DAY1)
    record(site, a, "custom", DAY2, analytics=True)
    record(site, c, "withdraw", DAY2)
    record(site, d, "custom", DAY2, language="fr", country="FR", marketing=True)
    return site


def table(rows):
    return {(r.period, r.group): (r.decisions, r.rates["analytics"], r.rates["marketing"]) for r in rows}


def test_decisions_over_time_count_each_decision_on_its_day(minds):
    figures = consent_figures(site=minds, start=DAY1, end=TODAY)
    assert table(figures.rates) == {(DAY1, ""): (3, 66.7, 66.7), (DAY2, ""): (3, 33.3, 33.3)}
    split = {r.period: r.actions for r in figures.split}
    assert split[DAY1] == {"accept_all": 2, "reject_all": 1, "custom": 0, "withdraw": 0}
    assert split[DAY2] == {"accept_all": 0, "reject_all": 0, "custom": 2, "withdraw": 1}


def test_current_figures_count_each_visitor_once_with_their_latest_decision(minds):
    rates = consent_figures(site=minds, start=DAY1, end=TODAY, view=StatView.CURRENT).rates
    # B's reject stays on day 1; A's change, C's withdrawal and D's choice are day 2's.
    assert table(rates) == {(DAY1, ""): (1, 0.0, 0.0), (DAY2, ""): (3, 33.3, 33.3)}
    month = consent_figures(site=minds, start=DAY1, end=TODAY, view=StatView.CURRENT, granularity="month")
    ((total,), (split,)) = month.rates, month.split
    assert (total.decisions, total.allowed["analytics"], total.allowed["marketing"]) == (4, 1, 1)
    assert split.actions == {"accept_all": 0, "reject_all": 1, "custom": 2, "withdraw": 1}


def test_expired_decisions_leave_the_current_figures_but_stay_in_decisions_over_time(site):
    site.consent_lifetime_days = 30
    site.save()
    old = TODAY - timedelta(days=40)
    record(site, uuid.uuid4(), "accept_all", old)
    record(site, uuid.uuid4(), "reject_all", TODAY - timedelta(days=5))
    assert sum(r.decisions for r in consent_figures(site=site, start=old, end=TODAY).rates) == 2
    current = consent_figures(site=site, start=old, end=TODAY, view=StatView.CURRENT).rates
    assert [(r.period, r.decisions, r.rates["marketing"]) for r in current] == [(TODAY - timedelta(days=5), 1, 0.0)]


def test_comparisons_by_language_country_policy_version_and_site(minds):
    other = make_site(name="Blog", origins=("https://blog.example",))
    record(other, uuid.uuid4(), "accept_all", DAY2, version=1)
    by_language = consent_figures(site=minds, start=DAY1, end=TODAY, by="language")
    assert {r.group: r.decisions for r in by_language.compared_rates} == {"en": 5, "fr": 1}
    assert {r.group: r.rates["marketing"] for r in by_language.compared_rates} == {"en": 40.0, "fr": 100.0}
    by_country = consent_figures(site=minds, start=DAY1, end=TODAY, by="country", view=StatView.CURRENT)
    assert {(r.period, r.group): r.decisions for r in by_country.compared_rates} == {(DAY1, "DE"): 3, (DAY1, "FR"): 1}
    assert table(by_country.rates) == {(DAY1, ""): (1, 0.0, 0.0), (DAY2, ""): (3, 33.3, 33.3)}
    by_site = consent_figures(start=DAY1, end=TODAY, by="site", granularity="week")
    assert {r.group: r.decisions for r in by_site.compared_rates} == {"Shop": 6, "Blog": 1}
    assert {r.group: r.total for r in by_site.compared_split} == {"Shop": 6, "Blog": 1}
    assert sum(r.decisions for r in by_site.rates) == 7
    by_version = consent_figures(site=minds, start=DAY1, end=TODAY, by="policy_version")
    assert [(r.group, r.total) for r in by_version.compared_split] == [("1", 6)]
    # Records that name no regime (as those from before regimes) count under opt-in, region unknown.
    by_regime = consent_figures(site=minds, start=DAY1, end=TODAY, by="regime")
    by_region = consent_figures(site=minds, start=DAY1, end=TODAY, by="region")
    assert [(r.group, r.total) for r in by_regime.compared_split + by_region.compared_split] == [("opt_in", 6), ("", 6)]
    # Two sites of one name are two rows, told apart by their keys.
    twin = make_site(name="Shop", origins=("https://shop2.example",))
    record(twin, uuid.uuid4(), "reject_all", DAY2)
    by_site = consent_figures(start=DAY1, end=TODAY, by="site", granularity="week")
    assert {r.group: r.decisions for r in by_site.compared_rates} == {
        f"Shop ({minds.key})": 6,
        f"Shop ({twin.key})": 1,
        "Blog": 1,
    }


def test_a_custom_category_named_like_a_lookup_is_counted(site):
    Category.objects.create(site=site, key="in", position=9, texts={"en": {"name": "Inbox", "description": ""}})
    record(site, uuid.uuid4(), "custom", DAY1, **{"in": True})
    record(site, uuid.uuid4(), "accept_all", DAY1)
    record(site, uuid.uuid4(), "reject_all", DAY1)
    (live,) = consent_figures(site=site, start=DAY1, end=DAY1).rates
    rollup()
    (rolled,) = consent_figures(site=site, start=DAY1, end=DAY1).rates
    assert live.allowed["in"] == rolled.allowed["in"] == 2
    assert rolled.rates["analytics"] == 33.3


def test_weeks_and_months_add_up_days(minds):
    days = consent_figures(site=minds, start=DAY1, end=TODAY).rates
    weeks = consent_figures(site=minds, start=DAY1, end=TODAY, granularity="week").rates
    assert sum(r.decisions for r in weeks) == sum(r.decisions for r in days) == 6
    assert all(r.period.weekday() == 0 for r in weeks)


def test_unknown_options_are_refused(site):
    with pytest.raises(ValueError, match="Granularity"):
        consent_figures(start=TODAY, end=TODAY, granularity="hour")
    with pytest.raises(ValueError, match="Compare by"):
        consent_figures(start=TODAY, end=TODAY, by="browser")
    with pytest.raises(ValueError, match="The view"):
        consent_figures(start=TODAY, end=TODAY, view="visitors")
    with pytest.raises(ValueError, match="Granularity"):
        interaction_rates(start=TODAY, end=TODAY, granularity="year")


def stored():
    return sorted(
        (r.view, r.day, r.action, r.language, r.count, sorted(r.allowed.items()))
        for r in DailyConsentStat.objects.all()
    )


def all_figures(site):
    """Every figure of the site in both views, per day and compared by country."""
    shown = []
    for view in StatView.values:
        figures = consent_figures(site=site, start=DAY1, end=TODAY, view=view, by="country")
        splits = [(r.period, r.group, r.actions) for r in figures.split + figures.compared_split]
        shown.append((table(figures.rates), table(figures.compared_rates), splits))
    return shown


def test_rollup_is_idempotent_and_picks_up_new_records(minds):
    live = all_figures(minds)
    report = rollup()
    assert (report.records, report.last_record_id) == (6, ConsentRecord.objects.latest("id").id)
    rows = stored()
    assert ("current", DAY1, "reject_all", "en", 1, [("analytics", 0), ("marketing", 0), ("preferences", 0)]) in rows
    assert all_figures(minds) == live
    assert rollup().records == 0
    assert stored() == rows

    # B changes their mind on day 2, after the roll-up: live at once, then rolled up.
    b = ConsentRecord.objects.get(action="reject_all").consent_id
    record(minds, b, "accept_all", DAY2)
    current = consent_figures(site=minds, start=DAY1, end=TODAY, view=StatView.CURRENT).rates
    assert table(current) == {(DAY2, ""): (4, 50.0, 50.0)}
    assert rollup().records == 1
    assert table(consent_figures(site=minds, start=DAY1, end=TODAY, view=StatView.CURRENT).rates) == table(current)
    assert not DailyConsentStat.objects.filter(view="current", day=DAY1).exists()


def test_rollup_in_small_chunks_gives_the_same_rows(minds):
    rollup(chunk_size=1)
    small = stored()
    DailyConsentStat.objects.all().delete()
    RollupMark.objects.all().delete()
    rollup()
    assert stored() == small


def test_records_of_the_last_minutes_wait_for_the_next_run_and_are_counted_live(site):
    decide(site, "accept_all")
    assert rollup().records == 0
    assert [r.decisions for r in consent_figures(site=site, start=TODAY, end=TODAY).rates] == [1]
    assert rollup(now=timezone.now() + LATER).records == 1
    assert [r.decisions for r in consent_figures(site=site, start=TODAY, end=TODAY).rates] == [1]


def test_erasure_takes_the_visitor_out_of_the_current_figures(site):
    visitor = decide(site, "accept_all").consent_id
    decide(site, "custom", consent_id=visitor, analytics=True)
    decide(site, "reject_all")
    rollup(now=timezone.now() + LATER)
    erase_visitor(site_snapshot(site.key), visitor)
    assert PendingRemoval.objects.count() == 1
    current = consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT).rates
    assert [(r.decisions, r.rates["analytics"]) for r in current] == [(1, 0.0)]
    assert rollup(now=timezone.now() + LATER).removals == 1
    assert not PendingRemoval.objects.exists()
    assert table(consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT).rates) == table(current)
    # Decisions over time keep counting what was decided.
    assert [r.decisions for r in consent_figures(site=site, start=TODAY, end=TODAY).rates] == [3]


def test_an_erased_visitor_leaves_the_others_in_their_row(site):
    erased = decide(site, "accept_all").consent_id
    decide(site, "accept_all")
    rollup(now=timezone.now() + LATER)
    erase_visitor(site_snapshot(site.key), erased)
    rollup(now=timezone.now() + LATER)
    (row,) = DailyConsentStat.objects.filter(view="current")
    assert (row.count, row.allowed) == (1, {"preferences": 1, "analytics": 1, "marketing": 1})


def test_erasing_many_visitors_at_once_removes_each_once(site):
    a = decide(site, "accept_all").consent_id
    decide(site, "reject_all", consent_id=a)
    b = decide(site, "accept_all").consent_id
    c = decide(site, "custom", analytics=True).consent_id
    keep = decide(site, "custom", marketing=True).consent_id
    rollup(now=timezone.now() + LATER)
    decide(site, "accept_all", consent_id=c)  # not rolled up yet: its counted head is the custom one
    with transaction.atomic():
        states = list(ConsentState.objects.select_for_update().filter(site=site, consent_id__in=[a, b, c]))
        erase_states(site.id, states, reason="retention")
    assert sorted(PendingRemoval.objects.values_list("action", flat=True)) == ["accept_all", "custom", "reject_all"]
    current = consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT).rates
    assert [(r.decisions, r.rates["marketing"]) for r in current] == [(1, 100.0)]
    rollup(now=timezone.now() + LATER)
    assert table(consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT).rates) == table(current)
    assert ConsentRecord.objects.filter(site=site).values_list("consent_id", flat=True).get() == keep


def test_erasing_a_visitor_not_yet_rolled_up_queues_nothing(site):
    visitor = decide(site, "accept_all").consent_id
    erase_visitor(site_snapshot(site.key), visitor)
    assert not PendingRemoval.objects.exists()
    assert consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT).rates == []


def test_interaction_rate_is_decisions_per_banner_shown(site):
    snapshot = site_snapshot(site.key)
    for _ in range(4):
        record_impression(site=snapshot, language="en")
    record_impression(site=snapshot, language="de", day=DAY1)
    decide(site, "accept_all")
    rows = {r.period: (r.impressions, r.decisions, r.rate) for r in interaction_rates(site=site, start=DAY1, end=TODAY)}
    assert rows == {DAY1: (1, 0, 0.0), TODAY: (4, 1, 25.0)}


def test_rollup_command_reports_what_it_counted(minds, capsys):
    call_command("rollup")
    assert "Counted 6 new records and 0 erasures" in capsys.readouterr().out
    call_command("rollup")
    assert "Counted 0 new records" in capsys.readouterr().out


# Regimes and regions ------------------------------------------------------------------------------

OPT_IN, OPT_OUT = Regime.OPT_IN, Regime.OPT_OUT


@pytest.fixture
def regions(site):
    """A in Germany accepts on day 1 and narrows to analytics on day 2; B in California opts out of
    everything; C in California opts out of marketing only; D in Colorado keeps everything; E, from
    nowhere the CDN knew, rejects (opt-in: the strictest regime the site uses); F accepts in Germany
    on day 1 and withdraws from California on day 2."""
    a, b, c, d, e, f = (uuid.uuid4() for _ in range(6))
    record(site, a, "accept_all", DAY1, region="DE")
    record(site, a, "custom", DAY2, region="DE", analytics=True)
    record(site, b, "reject_all", DAY1, country="US", regime=OPT_OUT, region="US-CA")
    record(site, c, "custom", DAY1, country="US", regime=OPT_OUT, region="US-CA", analytics=True, preferences=True)
    record(site, d, "accept_all", DAY2, country="US", regime=OPT_OUT, region="US-CO")
    record(site, e, "reject_all", DAY2, country="")
    record(site, f, "accept_all", DAY1, region="DE")
    record(site, f, "withdraw", DAY2, country="US", regime=OPT_OUT, region="US-CA")
    return site


def compared(site, by, view):
    figures = consent_figures(site=site, start=DAY1, end=TODAY, by=by, view=view)
    return {r.group: (r.decisions, r.allowed) for r in figures.compared_rates}


def counted_directly(site, by, view):
    """The same figures, counted from the records one by one."""
    records = ConsentRecord.objects.filter(site=site).order_by("id")
    if view == StatView.CURRENT:
        records = {r.consent_id: r for r in records}.values()  # the latest of each visitor
    groups = {}
    for r in records:
        n, allowed = groups.get(getattr(r, by), (0, {}))
        for key in ("preferences", "analytics", "marketing"):
            allowed[key] = allowed.get(key, 0) + (r.categories[key] is True)
        groups[getattr(r, by)] = (n + 1, allowed)
    return groups


@pytest.mark.parametrize("by", ["regime", "region"])
def test_figures_by_regime_and_region_match_a_direct_count_live_and_rolled_up(regions, by):
    live = {view: compared(regions, by, view) for view in StatView.values}
    assert live == {view: counted_directly(regions, by, view) for view in StatView.values}
    assert rollup().records == 8
    assert DailyConsentStat.objects.filter(regime=OPT_OUT, region="US-CA").exists()
    assert {view: compared(regions, by, view) for view in StatView.values} == live
    # C changes their mind in Colorado after the roll-up: live at once, and the same once rolled up.
    c = ConsentRecord.objects.get(action="custom", region="US-CA").consent_id
    record(regions, c, "accept_all", DAY2, country="US", regime=OPT_OUT, region="US-CO")
    live = {view: compared(regions, by, view) for view in StatView.values}
    assert live == {view: counted_directly(regions, by, view) for view in StatView.values}
    assert rollup().records == 1
    assert {view: compared(regions, by, view) for view in StatView.values} == live


def test_rates_by_regime_and_region(regions):
    by_regime = consent_figures(site=regions, start=DAY1, end=TODAY, by="regime")
    # Opt-out's "allowed" is "not opted out": B, C and F opted out of marketing, D did not.
    assert table(by_regime.compared_rates) == {(DAY1, "opt_in"): (4, 75.0, 50.0), (DAY1, "opt_out"): (4, 50.0, 25.0)}
    assert by_regime.regimes == ["opt_in", "opt_out"]
    by_region = consent_figures(site=regions, start=DAY1, end=TODAY, by="region", view=StatView.CURRENT)
    assert {r.group: r.decisions for r in by_region.compared_rates} == {"": 1, "DE": 1, "US-CA": 3, "US-CO": 1}
    withdrawals = {r.group: r.actions["withdraw"] for r in by_region.compared_split}
    assert withdrawals == {"": 0, "DE": 0, "US-CA": 1, "US-CO": 0}
    # On day 1, only B's and C's opt-outs are still their latest decisions.
    (day1,) = consent_figures(site=regions, start=DAY1, end=DAY1, by="regime", view=StatView.CURRENT).compared_rates
    assert (day1.group, day1.decisions) == ("opt_out", 2)
    assert consent_figures(site=regions, start=DAY1, end=DAY1, by="country").regimes == ["opt_in", "opt_out"]


def test_an_opt_out_never_expires_from_the_current_figures(site):
    site.consent_lifetime_days = 30
    site.save()
    old = TODAY - timedelta(days=40)
    record(site, uuid.uuid4(), "accept_all", old)
    record(site, uuid.uuid4(), "reject_all", old, country="US", regime=OPT_OUT, region="US-CA")

    def current():
        figures = consent_figures(site=site, start=old, end=TODAY, view=StatView.CURRENT, by="regime")
        return table(figures.compared_rates), figures.regimes

    assert current() == ({(old, "opt_out"): (1, 0.0, 0.0)}, ["opt_out"])
    rollup()
    assert current() == ({(old, "opt_out"): (1, 0.0, 0.0)}, ["opt_out"])


def test_erasure_takes_the_visitor_out_of_their_regime_and_region(site):
    erased = decide_in(site, "US-CA", "reject_all")
    decide_in(site, "US-CA", "accept_all")
    decide_in(site, "DE", "custom", analytics=True)
    assert (erased.regime, erased.region) == (OPT_OUT, "US-CA")  # the site's default regimes
    rollup(now=timezone.now() + LATER)
    erase_visitor(site_snapshot(site.key), erased.consent_id)
    (removal,) = PendingRemoval.objects.all()
    assert (removal.regime, removal.region, removal.action) == (OPT_OUT, "US-CA", "reject_all")

    def current(by):
        rows = consent_figures(site=site, start=TODAY, end=TODAY, view=StatView.CURRENT, by=by).compared_rates
        return {r.group: (r.decisions, r.rates["analytics"], r.rates["marketing"]) for r in rows}

    expected = {"regime": {"opt_in": (1, 100.0, 0.0), "opt_out": (1, 100.0, 100.0)}}
    expected["region"] = {"DE": (1, 100.0, 0.0), "US-CA": (1, 100.0, 100.0)}
    assert {by: current(by) for by in expected} == expected
    assert rollup(now=timezone.now() + LATER).removals == 1
    assert {by: current(by) for by in expected} == expected
    rows = DailyConsentStat.objects.filter(view="current").values_list("regime", "region", "action", "count")
    assert sorted(rows) == [(OPT_IN, "DE", "custom", 1), (OPT_OUT, "US-CA", "accept_all", 1)]
    # Decisions over time keep counting what was decided, in its regime.
    by_regime = consent_figures(site=site, start=TODAY, end=TODAY, by="regime").compared_rates
    assert {r.group: r.decisions for r in by_regime} == {"opt_in": 1, "opt_out": 2}
