// The synchronous Consent Mode stub (/cmp/SITE/consent-mode.js, docs/integration.md): placed
// before Google's tags in <head>, it gives Google the defaults, and the stored decision, before any
// tag reads the dataLayer, while the widget itself still loads async. The server replaces
// __CMP_CONSENT_MODE__ with {required, mode} (consent.widget.views).
import { readDecision } from './cookie.js';
import { consentDefault, consentUpdate, gpc } from './signals.js';

const { required, mode } = __CMP_CONSENT_MODE__;
const stored = readDecision();
// The stub, cached for every region alike, does not know the visitor's regime: a decision made under
// the opt-out regime (r), which is no consent where opt-in applies, waits for the widget, which knows.
const decision = stored && stored.exp > Date.now() / 1000 && stored.pv >= required && !stored.r ? stored : null;
consentDefault(!decision, mode);
// Under Global Privacy Control marketing is refused, as the widget will record.
if (decision) consentUpdate({ ...decision.c, ...(gpc() && 'marketing' in decision.c && { marketing: 0 }) });
