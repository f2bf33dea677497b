// The entry: wires the modules together and defines window.CMP (docs/integration.md,
// "window.CMP"). The server replaces __CMP_CONFIG__ with the site's config (consent.services.config.banner_config + "api").
import { clearDecision, deleteCookies, readDecision, writeDecision } from './cookie.js';
import { startBlocker } from './blocker.js';
import { pickLanguage } from './i18n.js';
import { consentDefault, consentUpdate, gpc } from './signals.js';
import { transport } from './transport.js';
import { createUI } from './ui.js';

/**
 * The site's configuration, inlined by the server (consent.services.config.banner_config).
 * @typedef {object} Config
 * @property {string} site The site key.
 * @property {string} api The CMP server's base URL.
 * @property {{version: number, required: number, url: string, updated: string}} policy The current
 *   policy version, the oldest one a decision may have been given under, its link and date.
 * @property {number} lifetimeDays How long a decision counts.
 * @property {string} language The site's default language.
 * @property {{key: string, required: boolean, cookies: string[]}[]} categories In display order,
 *   each with the cookie-name patterns deleted when it is withdrawn.
 * @property {Object<string, object>} texts The banner's texts, per language.
 * @property {{colour: string, text: string, position: string}} theme The site's colour, the text
 *   colour that reads best on it, the banner's position.
 * @property {boolean} [preview] An operator's preview: nothing stored, nothing sent.
 */

/** @type {Config} */
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
  // The visitor token binds the consent id to this browser: the server wants it for every later
  // change, erasure or receipt of that id (docs/integration.md, "The cookie").
  let token = stored?.tk;
  if (consentId && !token && server) {
    // A decision from before tokens: claim one for the id, once.
    token = newToken();
    writeDecision({ ...stored, tk: token });
    server.send(`/consents/${consentId}/token`, { token }, consentId);
  }

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
    if (!consentId) [consentId, token] = [uuid(), newToken()];
    decision = { v: 1, id: consentId, tk: token, pv: config.policy.version, t, exp: t + config.lifetimeDays * 86400, src: source, c };
    ui?.hide();
    apply();
    if (!preview) {
      writeDecision(decision);
      const body = {
        consent_id: consentId,
        token,
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
    server?.send(`/consents/${consentId}/forget`, { token }, consentId);
    clearDecision();
    decision = consentId = token = null;
    ui.hide();
    apply();
    notify();
    showBanner();
  }

  // The signed receipt of the latest decision, fetched with the visitor token and saved as a file.
  async function receipt() {
    const response = await fetch(`${base}/consents/${consentId}/receipt`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'omit',
    });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = 'consent-receipt.json';
    link.click();
  }

  // The server refused this browser's token for its id (another browser claimed an old id first):
  // go on under a new id, with the decision as it stands.
  addEventListener('cmp:refused', (event) => {
    if (event.detail !== consentId) return;
    consentId = null;
    if (decision) decide('custom', decision.src, getConsent().categories);
  });

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
          receipt,
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

// 144 random bits, URL-safe: the visitor token (consent.services.visitors on the server).
function newToken() {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

function uuid() {
  return crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) =>
        (d ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (d / 4)))).toString(16),
      );
}
