// Standard signals: Google Consent Mode v2 in window.dataLayer, and Global Privacy Control
// (docs/integration.md, "Google Consent Mode v2"). Shared by the widget and its synchronous
// Consent Mode stub (consent-mode.js), which may run first on the same page.
const MODE = {
  analytics: ['analytics_storage'],
  marketing: ['ad_storage', 'ad_user_data', 'ad_personalization'],
  preferences: ['functionality_storage', 'personalization_storage'],
};

const dataLayer = () => (window.dataLayer = window.dataLayer || []);

// What gtag() does: Google's tags read `arguments` objects from the dataLayer.
function gtag() {
  dataLayer().push(arguments);
}

function states(categories) {
  const out = { security_storage: 'granted' };
  for (const key in MODE) for (const type of MODE[key]) out[type] = categories[key] ? 'granted' : 'denied';
  return out;
}

/**
 * The site's Consent Mode settings (consent.services.config, "consentMode").
 * @typedef {object} ConsentMode
 * @property {{region: string[], granted: string[]}[]} [regions] Per-region defaults: the categories
 *   granted by default in those ISO 3166 regions (e.g. US-CA), before any decision.
 * @property {boolean} [redact] ads_data_redaction while ad_storage is denied.
 * @property {boolean} [passthrough] url_passthrough.
 * @property {string} [developerId] Google's developer id for this CMP.
 */

/**
 * The defaults, once per page and before any tag reads them: everything denied but security
 * (granted per region where the site says so), waiting for the visitor when the banner asks.
 * @param {boolean} waiting
 * @param {ConsentMode} [mode]
 */
export function consentDefault(waiting, mode = {}) {
  if (window.cmpConsentDefault) return; // the stub told Google already: one default, first
  window.cmpConsentDefault = 1;
  // Under Global Privacy Control no region's default grants marketing (a sale or share of data).
  for (const { region, granted } of mode.regions || [])
    gtag('consent', 'default', {
      ...states(Object.fromEntries(granted.filter((key) => !(gpc() && key === 'marketing')).map((key) => [key, 1]))),
      region,
    });
  gtag('consent', 'default', { ...states({}), ...(waiting && { wait_for_update: 500 }) });
  if (mode.redact) gtag('set', 'ads_data_redaction', true);
  if (mode.passthrough) gtag('set', 'url_passthrough', true);
  if (mode.developerId) gtag('set', `developer_id.${mode.developerId}`, true);
}

/**
 * The decision in force: Consent Mode's update, then an event Google Tag Manager triggers can fire
 * on (`cmp_consent_update`, with each category allowed or not). At load (`restored`) the widget
 * does not repeat what the stub already said.
 * @param {Object<string, 0 | 1>} categories
 * @param {boolean} [restored]
 */
export function consentUpdate(categories, restored) {
  const allowed = Object.fromEntries(Object.entries(categories).map(([key, on]) => [key, !!on]));
  const said = JSON.stringify(allowed);
  if (restored && window.cmpConsentSaid === said) return;
  window.cmpConsentSaid = said;
  gtag('consent', 'update', states(categories));
  dataLayer().push({ event: 'cmp_consent_update', cmp_categories: allowed });
}

export const gpc = () => navigator.globalPrivacyControl === true;
