// The entry: starts the widget, once per page, and defines window.CMP (docs/integration.md,
// "window.CMP"). Each module does one job; this one calls them in the order that matters.
import { startBlocker } from './blocker.js';
import { config, language, optIn, preview, regime } from './config.js';
import {
  allowedCategories,
  countImpression,
  currentConsent,
  decide,
  downloadReceipt,
  forget,
  honourGpc,
  isAllowed,
  onChange,
  restoreDecision,
  signalDecision,
  startOverIfRefused,
} from './consent.js';
import { h } from './elements.js';
import { drawPlaceholder } from './embeds.js';
import { gpc } from './signals.js';
import { buildUI, isBuilt, settingsButton, showBanner, showPreferences, showSettingsButton } from './ui.js';

// What the regime's script needs of the widget: given to its <script> element, which it reads as
// document.currentScript, so that none of it is public (regime/host.js); `asked` when
// CMP.showPreferences() was called before it loaded.
const host = { config, language, decide };

// A page that loads the script twice keeps the first copy.
if (!window.CMP) start();

// The order matters: the decision is known, Global Privacy Control applied to it, and Consent Mode
// told, before the blocker runs anything or a page script can call window.CMP.
function start() {
  if (!preview) restoreDecision();
  addEventListener('cmp:refused', startOverIfRefused);
  const gpcOverrides = honourGpc();
  signalDecision();
  startBlocker(isAllowed, drawPlaceholder);
  window.CMP = {
    // Once the start below has recorded what Global Privacy Control decides.
    ready: Promise.resolve().then(currentConsent),
    getConsent: currentConsent,
    isAllowed,
    acceptAll: () => decide('accept_all', 'api'),
    rejectAll: () => decide('reject_all', 'api'),
    setConsent: (choices) => decide('custom', 'api', { ...allowedCategories(), ...choices }),
    // The regime's script replaces it; until it has loaded, it opens the dialog once it does.
    showPreferences: () => (optIn ? withUI(showPreferences) : (host.asked = 1)),
    onChange,
    regime,
  };
  // Global Privacy Control changed the stored decision, or is a new visitor's opt-out under the
  // opt-out regime: recorded as a decision.
  if (gpcOverrides || (regime == 'opt_out' && !currentConsent() && gpc()))
    decide('custom', 'gpc', allowedCategories());
  if (!optIn) return loadRegime();
  if (!currentConsent()) return ask();
  // A returning visitor gets the floating "cookie settings" button, unless the site has none.
  if (settingsButton != 'off') withUI(showSettingsButton);
}

// The opt-out and notice regimes show no banner: their UI, and the IAB's GPP API, are a script of
// their own (static/cmp/src/regime/), which EU visitors never load. A script inserted by a script
// is allowed under a strict CSP ('strict-dynamic'), and runs async.
function loadRegime() {
  document.head.append(Object.assign(h('script', { src: config.regimeScript }), { host }));
}

function ask() {
  withUI(showBanner);
  countImpression();
}

function forgetAndAskAgain() {
  forget();
  ask();
}

// The UI is built the first time it shows, once the page has a body to put it in.
function withUI(show) {
  const run = () => {
    if (!isBuilt())
      buildUI({ consent: currentConsent, decide, forget: forgetAndAskAgain, receipt: downloadReceipt });
    show();
  };
  if (document.body) run();
  else document.addEventListener('DOMContentLoaded', run);
}
