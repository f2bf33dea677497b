import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState
from consent.services.checks import check_category, check_many, current_consent
from consent.services.errors import InvalidDecision, UnknownCategory
from consent.services.records import record_decision
from consent.services.sites import publish_policy, site_snapshot
from tests.factories import decide, make_site

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not an ip", ""),
    ],
)
def test_ip_addresses_are_truncated_before_storage(site, address, stored):
    record = record_decision(site=site_snapshot(site.key), action="accept_all", policy_version=1, ip_address=address)
    assert ConsentRecord.objects.get(pk=record.pk).ip_address == stored


def test_a_new_site_has_the_four_builtin_categories_in_order(site):
    assert list(site.categories.values_list("key", "required")) == [
        ("authentication", True),
        ("preferences", False),
        ("analytics", False),
        ("marketing", False),
    ]
    assert site.categories.get(key="analytics").cookie_patterns[:2] == ["_ga", "_gali"]


def test_nothing_but_authentication_is_on_unless_chosen(site):
    record = decide(site, analytics=True)
    assert record.categories == {"authentication": True, "preferences": False, "analytics": True, "marketing": False}


def test_authentication_cannot_be_refused(site):
    assert decide(site, authentication=False).categories["authentication"] is True
    assert decide(site, action="reject_all").categories["authentication"] is True


def test_unknown_categories_and_actions_are_refused(site):
    with pytest.raises(InvalidDecision, match="Unknown categories: tracking"):
        decide(site, tracking=True)
    with pytest.raises(InvalidDecision, match="Unknown action"):
        decide(site, action="maybe")
    with pytest.raises(InvalidDecision, match="never published"):
        decide(site, action="accept_all", policy_version=2)
    assert ConsentRecord.objects.count() == 0


def test_records_are_append_only_and_the_state_follows_the_latest(site):
    visitor = uuid.uuid4()
    first = decide(site, action="accept_all", consent_id=visitor)
    second = decide(site, action="reject_all", consent_id=visitor)
    assert second.prev_hash == first.hash
    state = ConsentState.objects.get(consent_id=visitor)
    assert (state.action, state.record_count, state.head_hash) == ("reject_all", 2, second.hash)
    with pytest.raises(TypeError):
        first.save()
    with pytest.raises(TypeError):
        ConsentRecord.objects.filter(pk=first.pk).update(action="accept_all")


def test_gpc_refuses_marketing_and_is_recorded_beside_the_source(site):
    record = record_decision(site=site_snapshot(site.key), action="accept_all", policy_version=1, gpc=True)
    assert record.categories["marketing"] is False
    assert record.categories["analytics"] is True
    assert (record.source, record.gpc) == ("banner", True)
    chosen = {"marketing": True}
    record = record_decision(site=site_snapshot(site.key), action="custom", choices=chosen, policy_version=1, gpc=True)
    assert record.categories["marketing"] is False  # the site does not let a choice override the signal


def test_a_site_may_let_an_explicit_opt_in_override_gpc(site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        site.gpc_overridable = True
        site.save()
    snapshot = site_snapshot(site.key)
    marketing = {"marketing": True}
    chosen = record_decision(
        site=snapshot, action="custom", choices=marketing, source="preferences", policy_version=1, gpc=True
    )
    assert chosen.categories["marketing"] is True and chosen.gpc
    # A page script calling CMP.setConsent is no visitor's choice.
    scripted = record_decision(
        site=snapshot, action="custom", choices=marketing, source="api", policy_version=1, gpc=True
    )
    assert scripted.categories["marketing"] is False
    # "Accept all" is no explicit choice of marketing, and the widget's own GPC re-record never is.
    accepted = record_decision(site=snapshot, action="accept_all", policy_version=1, gpc=True)
    assert accepted.categories["marketing"] is False
    automatic = record_decision(
        site=snapshot, action="custom", choices={"marketing": True}, source="gpc", policy_version=1, gpc=True
    )
    assert automatic.categories["marketing"] is False


def test_check_is_fail_closed(site):
    snapshot = site_snapshot(site.key)
    stranger = uuid.uuid4()
    assert check_category(snapshot, stranger, "analytics") == (False, "no_decision")
    assert check_category(snapshot, stranger, "authentication") == (True, "strictly_necessary")
    visitor = decide(site, analytics=True).consent_id
    assert check_category(snapshot, visitor, "analytics") == (True, "granted")
    assert check_category(snapshot, visitor, "marketing") == (False, "refused")
    with pytest.raises(UnknownCategory):
        check_category(snapshot, visitor, "tracking")


@pytest.mark.django_db(transaction=True)  # the cache is cleared on commit: commit for real
def test_a_new_decision_clears_the_cached_answer(site):
    snapshot = site_snapshot(site.key)
    visitor = decide(site, analytics=True).consent_id
    assert check_category(snapshot, visitor, "analytics") == (True, "granted")  # now cached
    decide(site, action="withdraw", consent_id=visitor)
    assert check_category(snapshot, visitor, "analytics") == (False, "withdrawn")
    # An unknown visitor is cached as such; their first decision clears that too.
    stranger = uuid.uuid4()
    assert check_category(snapshot, stranger, "analytics")[0] is False
    decide(site, action="accept_all", consent_id=stranger)
    assert check_category(snapshot, stranger, "analytics") == (True, "granted")


@pytest.mark.django_db(transaction=True)
def test_material_policy_outdates_earlier_decisions_and_minor_does_not(site):
    visitor = decide(site, action="accept_all").consent_id
    publish_policy(site=site, material=False)
    assert current_consent(site_snapshot(site.key), visitor).status == "valid"
    publish_policy(site=site, material=True)
    snapshot = site_snapshot(site.key)
    assert current_consent(snapshot, visitor).status == "outdated"
    assert check_category(snapshot, visitor, "analytics") == (False, "outdated")
    decide(site, action="accept_all", consent_id=visitor, policy_version=3)
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (True, "granted")


def test_decisions_expire_after_the_site_lifetime(site):
    visitor = decide(site, action="accept_all").consent_id
    ConsentState.objects.filter(consent_id=visitor).update(decided_at=timezone.now() - timedelta(days=183))
    current = current_consent(site_snapshot(site.key), visitor)
    assert current.status == "expired"
    assert current.expires_at == current.decided_at + timedelta(days=182)
    assert check_category(site_snapshot(site.key), visitor, "analytics") == (False, "expired")


def test_batch_check_answers_known_and_unknown_visitors(site):
    yes = decide(site, action="accept_all").consent_id
    no = decide(site, action="reject_all").consent_id
    stranger = uuid.uuid4()
    results = check_many(site_snapshot(site.key), [yes, no, stranger], ["analytics", "authentication"])
    assert results == {
        str(yes): {"analytics": True, "authentication": True},
        str(no): {"analytics": False, "authentication": True},
        str(stranger): {"analytics": False, "authentication": True},
    }
    # Second time from the cache: same answer.
    assert check_many(site_snapshot(site.key), [yes, no, stranger], ["analytics", "authentication"]) == results


def test_sites_do_not_see_each_others_visitors(site):
    other = make_site(name="Other", origins=("https://other.example",))
    visitor = decide(site, action="accept_all").consent_id
    assert check_category(site_snapshot(other.key), visitor, "analytics") == (False, "no_decision")
