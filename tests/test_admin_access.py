"""Per-site access: a marketer or an agency given one site, with a role, sees and changes that
site only, as far as the role goes; the dashboard, its CSV, the previews and the audit trail too."""

import pytest
from django.contrib.auth.models import User

from consent.models import ConfigChange, SiteAccess, SiteRole
from consent.services.sites import create_api_key
from tests.conftest import sign_in_staff
from tests.factories import decide, make_site


@pytest.fixture
def sites(db):
    mine = make_site(name="Mine", origins=("https://mine.example",))
    theirs = make_site(name="Theirs", origins=("https://theirs.example",))
    decide(mine, "accept_all")
    decide(theirs, "reject_all")
    create_api_key(site=mine)
    create_api_key(site=theirs)
    return mine, theirs


def given(client, site, role):
    user = User.objects.create_user("agency", password="pw-agency-long-enough", is_staff=True)
    SiteAccess.objects.create(user=user, site=site, role=role)
    return sign_in_staff(client, user)


def test_a_staff_user_without_sites_sees_nothing(client, sites):
    sign_in_staff(client, User.objects.create_user("nobody", password="pw-nobody-long-enough", is_staff=True))
    assert client.get("/admin/consent/site/dashboard/").status_code == 403
    assert client.get("/admin/consent/site/").status_code == 403
    assert client.get("/admin/consent/configchange/").status_code == 403


def test_figures_only(client, sites):
    mine, theirs = sites
    given(client, mine, SiteRole.FIGURES)
    page = client.get("/admin/consent/site/dashboard/")
    assert page.status_code == 200
    assert [s.name for s in page.context["form"].fields["site"].queryset] == ["Mine"]
    assert page.context["params"]["site"] == mine
    assert client.get("/admin/consent/site/dashboard/", {"site": theirs.pk}).context["form"].errors
    csv = client.get("/admin/consent/site/dashboard/", {"site": theirs.pk, "format": "csv"})
    assert not csv["Content-Type"].startswith("text/csv")
    listed = client.get("/admin/consent/site/").content.decode()
    assert "Mine" in listed and "Theirs" not in listed
    assert client.get(f"/admin/consent/site/{mine.pk}/change/").status_code == 200  # read-only
    assert client.post(f"/admin/consent/site/{mine.pk}/change/", {"name": "Renamed"}).status_code == 403
    assert client.get(f"/admin/consent/site/{theirs.pk}/change/").status_code == 302  # not found for them
    assert client.get(f"/admin/consent/site/{mine.pk}/preview/").status_code == 200
    assert client.get(f"/admin/consent/site/{theirs.pk}/preview/").status_code == 403
    assert client.get(f"/cmp/{theirs.key}/preview").status_code == 403
    trail = client.get("/admin/consent/configchange/").context["cl"].result_list
    assert {change.site_id for change in trail} == {mine.pk}
    assert ConfigChange.objects.filter(site=theirs).exists()
    assert client.get("/admin/consent/apikey/").status_code == 403
    assert client.get("/admin/consent/consentrecord/").status_code == 403


def test_integrations_sees_keys_and_records_of_its_site_only(client, sites):
    mine, theirs = sites
    given(client, mine, SiteRole.INTEGRATIONS)
    keys = client.get("/admin/consent/apikey/").context["cl"].result_list
    assert {key.site_id for key in keys} == {mine.pk}
    records = client.get("/admin/consent/consentrecord/").context["cl"].result_list
    assert {record.site_id for record in records} == {mine.pk}
    assert client.get("/admin/consent/siteaccess/").status_code == 403  # only superusers give access


@pytest.mark.parametrize(("role", "editable"), [(SiteRole.FIGURES, False), (SiteRole.BANNER, True)])
def test_only_the_banner_role_may_edit_the_site(client, sites, role, editable):
    mine, _ = sites
    given(client, mine, role)
    page = client.get(f"/admin/consent/site/{mine.pk}/change/").content.decode()
    assert ('name="_save"' in page) is editable


def test_the_site_filter_lists_only_the_users_sites(client, db):
    from django.contrib.auth.models import User

    from consent.models import SiteAccess, SiteRole
    from tests.conftest import sign_in_staff
    from tests.factories import make_site

    mine = [make_site(name="Mine"), make_site(name="Mine too", origins=("https://too.example",))]
    make_site(name="Secret client", origins=("https://secret.example",))
    user = User.objects.create_user("agency", password="pw-123456789", is_staff=True)
    for site in mine:  # two, so that the filter shows (one choice is no filter)
        SiteAccess.objects.create(user=user, site=site, role=SiteRole.INTEGRATIONS)
    sign_in_staff(client, user)
    for path in ("consentrecord", "configchange", "apikey", "shownconfiguration"):
        page = client.get(f"/admin/consent/{path}/").content.decode()
        assert "Mine too" in page and "Secret client" not in page, path
