// The entry: starts the widget, once per page, and defines window.CMP (docs/integration.md,
// "window.CMP"). Each module does one job; this one calls them in the order that matters.
import { startBlocker } from './blocker.js';
import { preview } from './config.js';
import {
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
import { drawPlaceholder } from './embeds.js';
import { buildUI, isBuilt, settingsButton, showBanner, showPreferences, showSettingsButton } from './ui.js';

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
    ready: Promise.resolve(currentConsent()),
    getConsent: currentConsent,
    isAllowed,
    acceptAll: () => decide('accept_all', 'api'),
    rejectAll: () => decide('reject_all', 'api'),
    setConsent: (choices) => decide('custom', 'api', { ...currentConsent()?.categories, ...choices }),
    showPreferences: () => withUI(showPreferences),
    onChange,
  };
  if (!currentConsent()) return ask();
  // Global Privacy Control changed the stored decision: recorded as a new one.
  if (gpcOverrides) decide('custom', 'gpc', currentConsent().categories);
  // A returning visitor gets the floating "cookie settings" button, unless the site has none.
  if (settingsButton != 'off') withUI(showSettingsButton);
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
