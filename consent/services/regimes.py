"""Regional regimes: which rules a visitor's region puts them under (docs/integration.md, "Regimes").

- `opt_in` (GDPR and ePrivacy: EU/EEA, UK, Switzerland): nothing but the strictly necessary until
  the visitor says yes. The banner.
- `opt_out` (US state privacy laws, starting with California's CCPA/CPRA): trackers run until the
  visitor opts out of the sale or sharing of their data. A "Your Privacy Choices" link and dialog.
- `notice` (inform only): everything runs; a notice says so.

A site maps regions (ISO 3166 countries, DE, or subdivisions, US-CA) to regimes, with one regime
for every other known region. A visitor whose region is unknown gets the strictest regime the site
uses: a missing header never loosens anything.
"""

from consent.models import Regime

OPT_IN, OPT_OUT, NOTICE = Regime.OPT_IN, Regime.OPT_OUT, Regime.NOTICE
# Strictest first.
STRICTNESS = (OPT_IN, OPT_OUT, NOTICE)


def strictest(regimes) -> str:
    return str(min(regimes, key=STRICTNESS.index))


Rules = tuple[tuple[str, tuple[str, ...]], ...]


def rules_of(site) -> Rules:
    """A site's rules (Site.regimes) as (regime, region codes) pairs."""
    return tuple((rule["regime"], tuple(rule["region"])) for rule in site.regimes)


def regime_for(rules: Rules, default: str, region: str) -> str:
    """The regime of a region under a site's rules: its subdivision's, else its country's, else the
    site's default; for an unknown region, the strictest the site uses."""
    if not region:
        return strictest([default, *(regime for regime, _ in rules)])
    by_region = {code: regime for regime, codes in rules for code in codes}
    return by_region.get(region) or by_region.get(region[:2]) or default


def depends_on_region(rules: Rules, default: str) -> bool:
    """Whether visitors of different regions may get different regimes (the widget's script then
    varies by region)."""
    return any(regime != default for regime, _ in rules)
