// The visitor's decision: restoring the stored one, making a new one, applying it to the page,
// keeping and sending it, forgetting it.
import { scan } from './blocker.js';
import { config, isRequired, language, optIn, preview, siteUrl } from './config.js';
import { clearDecision, deleteCookies, readDecision, writeDecision } from './cookie.js';
import { newConsentId, newToken } from './ids.js';
import { consentDefault, consentUpdate, gpc } from './signals.js';
import { transport } from './transport.js';
import { hideUI } from './ui.js';

// The widget's state: the decision and what goes with it, all here, changed only by this module's
// functions. (The UI keeps its elements and where focus returns to in ui.js; the blocker what it
// has unblocked in blocker.js.)
/** @type {import('./cookie.js').Decision | null} The decision in force: null while none counts. */
let decision = null;
// The visitor's consent id and visitor token. They outlive an expired decision, so that the
// visitor's next decision joins the same history on the server.
let consentId = null;
let token = null;
/** @type {ReturnType<typeof transport> | null} The CMP server: none in a preview. */
let server = null;
/** @type {((consent: object | null) => void)[]} The callbacks given to CMP.onChange. */
const listeners = [];

const now = () => Math.floor(Date.now() / 1000);

// Without a decision in force the opt-in regime allows the required categories only; the opt-out
// and notice regimes allow everything but what Global Privacy Control refuses (marketing).
export const isAllowed = (key) =>
  isRequired(key) || (decision ? !!decision.c[key] : !optIn && !(key == 'marketing' && gpc()));

/** Each category, allowed or not. */
export const allowedCategories = () => Object.fromEntries(config.categories.map(({ key }) => [key, isAllowed(key)]));

/** The decision in force as CMP.getConsent() gives it (docs/integration.md, "window.CMP"), or null. */
export function currentConsent() {
  return (
    decision && {
      consentId: decision.id,
      categories: allowedCategories(),
      policyVersion: decision.pv,
      decidedAt: new Date(decision.t * 1000).toISOString(),
      source: decision.src,
    }
  );
}

export const onChange = (callback) => listeners.push(callback);

// Connects to the server, which at once sends what an earlier page could not deliver, and takes
// the stored decision. It counts until it expires or a material policy change asks again; the id
// and the token are kept either way: the visitor token binds the id to this browser, and the server
// wants it for every later change, erasure or receipt of that id (docs/integration.md, "The cookie").
export function restoreDecision() {
  server = transport(siteUrl);
  const stored = readDecision();
  // A decision made under another regime (r) is no consent here: the opt-in regime asks.
  decision = stored && stored.exp > now() && stored.pv >= config.policy.required && !(optIn && stored.r) ? stored : null;
  consentId = stored?.id;
  token = stored?.tk;
  if (consentId && !token) claimToken(stored);
}

// A decision from before visitor tokens: claim one for its id, once.
function claimToken(stored) {
  token = newToken();
  writeDecision({ ...stored, tk: token });
  server.send(`/consents/${consentId}/token`, { token }, consentId);
}

// Global Privacy Control now, marketing allowed before (and not chosen despite the signal, where the
// site allows that): refused before anything is unblocked.
// Whether it was, so that main.js records the changed decision once the widget is ready.
export function honourGpc() {
  const overrides = gpc() && decision?.c.marketing && !(config.gpcOverride && decision.g);
  if (overrides) decision = { ...decision, c: { ...decision.c, marketing: 0 } };
  return overrides;
}

// Consent Mode hears the defaults, and the decision in force, before any blocked tag can run.
export function signalDecision() {
  consentDefault(!decision, config.consentMode);
  if (decision) consentUpdate(decision.c, true);
  // Under the opt-out and notice regimes: what is allowed until the visitor opts out, whatever
  // Google's own geolocation made of the regional defaults.
  else if (!optIn) consentUpdate(allowedCategories());
  // The stub (cached apart) may have told Google of a decision this widget finds outdated.
  else if (window.cmpConsentSaid) consentUpdate({});
}

/**
 * Makes the visitor's decision, applies it, keeps it in the cookie, sends it, and tells listeners.
 * @param {'accept_all' | 'reject_all' | 'custom'} action
 * @param {string} source Where it was made: banner, preferences, api or gpc.
 * @param {Object<string, boolean>} [choices] For `custom`: the categories switched on.
 */
export function decide(action, source, choices = {}) {
  const c = {};
  for (const { key } of config.categories)
    c[key] = +(isRequired(key) || action === 'accept_all' || (action === 'custom' && choices[key] === true));
  // Global Privacy Control refuses marketing (a sale or share of data), unless the site lets an
  // explicit choice outweigh it and this is one, made in the preferences (a page script calling
  // CMP.setConsent is no visitor's choice). The decision keeps its own source either way.
  const explicit = config.gpcOverride && action === 'custom' && source === 'preferences';
  if (gpc() && c.marketing && !explicit) {
    c.marketing = 0;
    if (action === 'accept_all') action = 'custom';
  }
  const t = now();
  const before = allowedCategories();
  if (!consentId) [consentId, token] = [newConsentId(), newToken()];
  decision = {
    v: 1,
    id: consentId,
    tk: token,
    pv: config.policy.version,
    t,
    exp: t + config.lifetimeDays * 86400,
    src: source,
    c,
    // Made under Global Privacy Control: a marketing "yes" in it was chosen despite the signal.
    ...(gpc() && { g: 1 }),
    // Made under the opt-out or notice regime: not having opted out is no opt-in.
    ...(!optIn && { r: 1 }),
  };
  hideUI();
  applyDecision();
  if (!preview) {
    writeDecision(decision);
    server.send('/consents', record(action), consentId);
  }
  notify();
  reloadIfWithdrawn(before);
}

// The decision in force as POST .../consents takes it.
function record(action) {
  return {
    consent_id: decision.id,
    token: decision.tk,
    categories: Object.fromEntries(Object.entries(decision.c).map(([key, on]) => [key, !!on])),
    action,
    policy_version: decision.pv,
    source: decision.src,
    gpc: gpc(),
    // What the visitor was shown, in the language it was shown in: only for a choice made on it.
    language,
    ...(['banner', 'preferences'].includes(decision.src) && { shown: config.shown?.[language] }),
    url: location.origin + location.pathname, // no query string or fragment: they may carry personal data
  };
}

// Applies the decision in force to the page: Consent Mode, the withdrawn categories' cookies, the
// blocked elements.
function applyDecision() {
  consentUpdate(decision?.c || {});
  deleteCookies(config.categories.filter(({ key }) => !isAllowed(key)).flatMap((category) => category.cookies || []));
  scan();
}

// A category allowed before (by a decision, or by the regime before any) is not any more: what it
// started keeps running until the page reloads, which the site may ask for. The decision is kept and
// handed to the transport first, whose queue outlives the page.
function reloadIfWithdrawn(before) {
  if (config.reloadOnWithdrawal && !preview && config.categories.some(({ key }) => before[key] && !isAllowed(key)))
    location.reload();
}

function notify() {
  const consent = currentConsent();
  for (const callback of listeners) callback(consent);
  dispatchEvent(new CustomEvent('cmp:change', { detail: consent }));
}

// "Forget me": the server erases the visitor's records, and this browser drops the decision, the id
// and the token; the next decision starts an unlinked history.
export function forget() {
  const before = allowedCategories();
  server?.send(`/consents/${consentId}/forget`, { token }, consentId);
  clearDecision();
  decision = consentId = token = null;
  hideUI();
  applyDecision();
  notify();
  reloadIfWithdrawn(before);
}

// The server refused this browser's token for its id (another browser claimed an old id first):
// go on under a new id, with the decision as it stands.
export function startOverIfRefused(event) {
  if (event.detail !== consentId) return;
  consentId = null;
  if (decision) decide('custom', decision.src, currentConsent().categories);
}

// The banner was shown: the server counts it, anonymously.
export const countImpression = () => server?.impression(language);

// The signed receipt of the latest decision, fetched with the visitor token and saved as a file.
export async function downloadReceipt() {
  const response = await fetch(`${siteUrl}/consents/${consentId}/receipt`, {
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
