// The entry: wires the modules together and defines window.CMP (docs/integration.md,
// "window.CMP"). The server replaces __CMP_CONFIG__ with the site's config (consent.services.config.banner_config + "api").
import { clearDecision, deleteCookies, readDecision, writeDecision } from './cookie.js';
import { startBlocker } from './blocker.js';
import { pickLanguage } from './i18n.js';
import { consentDefault, consentUpdate, gpc } from './signals.js';
import { transport } from './transport.js';
import { createUI } from './ui.js';

const config = __CMP_CONFIG__;

if (!window.CMP) start(config);

function start(config) {
  const base = `${config.api}/api/v1/sites/${config.site}`;
  const language = pickLanguage(config);
  const texts = config.texts[language];
  const categories = config.categories;
  const required = (key) => categories.some((c) => c.key === key && c.required);
  const withGpc = gpc();
  const now = () => Math.floor(Date.now() / 1000);
  const listeners = [];
  // A preview (for the site's operator) ignores and keeps no decision, and tells the server nothing.
  const preview = config.preview;
  // Created at once: it sends whatever an earlier page could not deliver.
  const server = preview ? null : transport(base);
  let ui;

  // A stored decision counts until it expires or a material policy change asks again.
  const stored = preview ? null : readDecision();
  let decision = stored && stored.exp > now() && stored.pv >= config.policy.required ? stored : null;
  let consentId = stored?.id;

  const isAllowed = (key) => required(key) || !!decision?.c[key];
  const getConsent = () =>
    decision && {
      consentId: decision.id,
      categories: Object.fromEntries(categories.map(({ key }) => [key, isAllowed(key)])),
      policyVersion: decision.pv,
      decidedAt: new Date(decision.t * 1000).toISOString(),
      source: decision.src,
    };

  function decide(action, source, choices = {}) {
    const c = {};
    for (const { key } of categories)
      c[key] = +(required(key) || action === 'accept_all' || (action === 'custom' && choices[key] === true));
    // Global Privacy Control refuses marketing, whatever else is chosen.
    if (withGpc && 'marketing' in c) {
      c.marketing = 0;
      source = 'gpc';
      if (action === 'accept_all') action = 'custom';
    }
    const t = now();
    consentId = consentId || uuid();
    decision = { v: 1, id: consentId, pv: config.policy.version, t, exp: t + config.lifetimeDays * 86400, src: source, c };
    ui?.hide();
    apply();
    if (!preview) {
      writeDecision(decision);
      const body = {
        consent_id: consentId,
        categories: Object.fromEntries(Object.entries(c).map(([key, on]) => [key, !!on])),
        action,
        policy_version: decision.pv,
        source,
        language,
        url: location.origin + location.pathname, // no query string or fragment: they may carry personal data
      };
      server.send('/consents', body, consentId);
    }
    notify();
  }

  // Applies the current decision: signals, withdrawn categories' cookies, blocked elements.
  function apply() {
    consentUpdate(decision?.c || {});
    deleteCookies(categories.filter(({ key }) => !isAllowed(key)).flatMap((c) => c.cookies || []));
    scan();
  }

  function notify() {
    const consent = getConsent();
    for (const callback of listeners) callback(consent);
    dispatchEvent(new CustomEvent('cmp:change', { detail: consent }));
  }

  function forget() {
    server?.send(`/consents/${consentId}/forget`, null, consentId);
    clearDecision();
    decision = consentId = null;
    ui.hide();
    apply();
    notify();
    showBanner();
  }

  function withUI(then) {
    const run = () => {
      ui =
        ui ||
        createUI({
          config,
          texts,
          gpc: withGpc,
          consent: getConsent,
          decide,
          forget,
          receiptUrl: (id) => `${base}/consents/${id}/receipt`,
        });
      then(ui);
    };
    if (document.body) run();
    else document.addEventListener('DOMContentLoaded', run);
  }

  function showBanner() {
    withUI((ui) => ui.showBanner());
    server?.impression(language);
  }

  // Global Privacy Control now, marketing allowed before: refused before anything is unblocked.
  const gpcOverrides = withGpc && decision?.c.marketing;
  if (gpcOverrides) decision = { ...decision, c: { ...decision.c, marketing: 0 } };
  consentDefault(!decision);
  if (decision) consentUpdate(decision.c);
  const scan = startBlocker(isAllowed);

  window.CMP = {
    ready: Promise.resolve(getConsent()),
    getConsent,
    isAllowed,
    acceptAll: () => decide('accept_all', 'api'),
    rejectAll: () => decide('reject_all', 'api'),
    setConsent: (choices) => decide('custom', 'api', { ...getConsent()?.categories, ...choices }),
    showPreferences: () => withUI((ui) => ui.showPreferences()),
    onChange: (callback) => listeners.push(callback),
  };

  if (!decision) showBanner();
  else if (gpcOverrides) decide('custom', 'gpc', getConsent().categories);
}

function uuid() {
  return crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) =>
        (d ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (d / 4)))).toString(16),
      );
}
