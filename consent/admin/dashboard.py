"""The consent dashboard: opt-in rates, the action split and the banner interaction rate, per
site or for all sites, as charts with their exact figures, compared by policy version, language,
country, regime, region or site, and as CSV. Staff only (admin_view)."""

import csv
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from consent.admin.charts import line_chart, stacked_bars
from consent.models import Action, Regime, Site, StatView
from consent.selectors.figures import consent_figures, interaction_rates
from consent.services.access import sites_for

MAX_DAYS = 3 * 366
GRANULARITY_CHOICES = [("day", "Day"), ("week", "Week"), ("month", "Month")]
BY_CHOICES = [
    ("", "(no comparison)"),
    ("policy_version", "Policy version"),
    ("language", "Language"),
    ("country", "Country"),
    ("regime", "Regime"),
    ("region", "Region"),
    ("site", "Site"),
]
ACTION_LABELS = dict(Action.choices)
REGIME_LABELS = dict(Regime.choices)


class DashboardForm(forms.Form):
    site = forms.ModelChoiceField(Site.objects.all(), required=False, empty_label="All sites")
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    granularity = forms.ChoiceField(choices=GRANULARITY_CHOICES, initial="day")
    view = forms.ChoiceField(choices=StatView.choices, initial=StatView.DECISIONS, label="Count")
    by = forms.ChoiceField(choices=BY_CHOICES, required=False, label="Compare by")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The start date must not be after the end date.")
            if (end - start).days > MAX_DAYS:
                raise forms.ValidationError("Choose a range of at most three years.")
        return data


def _defaults() -> dict:
    today = timezone.now().date()
    return {"start": today - timedelta(days=29), "end": today, "granularity": "day", "view": StatView.DECISIONS}


def dashboard_view(request, model_admin=None):
    """GET only; the query string is the state, so a view can be bookmarked or shared. A staff
    user who is not a superuser sees the sites they were given, one at a time."""
    sites = sites_for(request.user)
    if not sites.exists():
        raise PermissionDenied
    given = {**_defaults(), **request.GET.dict()}
    if not request.user.is_superuser and not given.get("site"):
        given["site"] = str(sites.order_by("name", "pk").values_list("pk", flat=True).first())
    form = DashboardForm(given)
    form.fields["site"].queryset = sites
    if not request.user.is_superuser:
        form.fields["site"].empty_label = None
    context = {**admin.site.each_context(request), "title": "Consent dashboard", "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/consent/dashboard.html", context)
    params = form.cleaned_data
    site, by = params["site"], params["by"] or None
    query = {"site": site, "start": params["start"], "end": params["end"], "view": params["view"]}
    figures = consent_figures(**query, granularity=params["granularity"], by=by)
    interaction = interaction_rates(
        site=site, start=params["start"], end=params["end"], granularity=params["granularity"]
    )
    if request.GET.get("format") == "csv":
        return _csv(params, figures, interaction)
    labels = [row.period.isoformat() for row in figures.rates]
    context.update(
        params=params,
        figures=figures,
        by_label=dict(BY_CHOICES)[by or ""],
        compared_rates=[(_group_label(by, row.group), row) for row in figures.compared_rates],
        compared_split=[(_group_label(by, row.group), row) for row in figures.compared_split],
        # Under opt-out, "allowed" means "not opted out": the page says so where such decisions count.
        opt_out_counted=Regime.OPT_OUT in figures.regimes,
        by_regime_query=_with(request, by="regime"),
        interaction=interaction,
        view_label=StatView(params["view"]).label,
        actions=ACTION_LABELS,
        csv_query=_with(request, format="csv"),
        rates_chart=line_chart(
            "Opt-in rate per category, per " + params["granularity"],
            labels,
            {key: [row.rates[key] for row in figures.rates] for key in figures.keys},
        ),
        split_chart=stacked_bars(
            "Action split, per " + params["granularity"],
            [row.period.isoformat() for row in figures.split],
            {ACTION_LABELS[a]: [row.shares[a] for row in figures.split] for a in Action.values},
        ),
    )
    return TemplateResponse(request, "admin/consent/dashboard.html", context)


def _group_label(by: str | None, group: str) -> str:
    """How the page names a compared group: a regime by its label, an empty value as unknown."""
    if by == "regime":
        return REGIME_LABELS.get(group, group)
    return group or "(unknown)"


def _with(request, **extra) -> str:
    query = request.GET.copy()
    for key, value in extra.items():
        query[key] = value
    return query.urlencode()


class FormulaSafeWriter:
    """csv.writer whose text cells cannot run as a spreadsheet formula (OWASP "CSV injection"):
    a cell starting with = + - @, a tab or a carriage return gets a leading apostrophe."""

    def __init__(self, stream):
        self.writer = csv.writer(stream)

    @staticmethod
    def cell(value):
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
        return value

    def writerow(self, row) -> None:
        self.writer.writerow([self.cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def _csv(params, figures, interaction) -> HttpResponse:
    """The same figures as the page: one row per period (and per compared group)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"consent-{params['view']}-{params['start']}-{params['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = FormulaSafeWriter(response)
    keys = figures.keys
    writer.writerow(
        ["view", "period", "compare_by", "group", "decisions"]
        + [f"{k}_allowed" for k in keys]
        + [f"{k}_rate_pct" for k in keys]
        + list(Action.values)
        + ["impressions", "interaction_rate_pct"]
    )
    shown = {row.period: row for row in interaction}

    def rows(rates, split, compare_by):
        splits = {(s.period, s.group): s for s in split}
        for rate in rates:
            split = splits.get((rate.period, rate.group))
            impressions = shown.get(rate.period) if not compare_by else None
            yield (
                [params["view"], rate.period.isoformat(), compare_by, rate.group, rate.decisions]
                + [rate.allowed[k] for k in keys]
                + [rate.rates[k] for k in keys]
                + [split.actions[a] if split else 0 for a in Action.values]
                + ([impressions.impressions, impressions.rate] if impressions else ["", ""])
            )

    writer.writerows(rows(figures.rates, figures.split, ""))
    writer.writerows(rows(figures.compared_rates, figures.compared_split, params["by"] or ""))
    return response
