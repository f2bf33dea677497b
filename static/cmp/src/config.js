// The site's configuration, and what follows from it for this page. The server writes the config
// into the bundle in place of __CMP_CONFIG__ (consent/widget/views.py).
import { pickLanguage } from './i18n.js';

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
 * @property {Object<string, string>} shown Per language, the digest of exactly what the banner shows
 *   in it: sent back with each decision, as proof of what the visitor saw.
 * @property {{name: string, contact: string}} [controller] Who is responsible for the data, and how
 *   to reach them (an email address, a web page or any text); only when the site filled it in.
 * @property {string[]} [recipients] The third parties that receive data; only when there are any.
 * @property {{colour: string, text: string, position: string, settingsButton: string}} theme The
 *   site's colour, the text colour that reads best on it, the banner's position (bottom, center,
 *   top), and where the floating "cookie settings" button shows (left, right, off).
 * @property {boolean} [reloadOnWithdrawal] Reload the page after a withdrawal, to stop what runs.
 * @property {boolean} [gpcOverride] An explicit opt-in may override Global Privacy Control.
 * @property {import('./signals.js').ConsentMode} [consentMode] Google Consent Mode settings.
 * @property {'opt_in' | 'opt_out' | 'notice'} [regime] The visitor's regime: nothing but the required
 *   until they consent (opt_in, the default), everything until they opt out (opt_out), or everything
 *   and a notice (notice). Under the last two the texts carry the opt-out and notice wording too.
 * @property {string} [region] Under opt_out and notice, the visitor's region when known (US-CA, US-TX).
 * @property {string} [regimeScript] Under opt_out and notice, the URL of their UI's script
 *   (static/cmp/src/regime/).
 * @property {number} [gppCmpId] The CMP id the IAB registered, for its GPP API (0 without one).
 * @property {boolean} [preview] An operator's preview: nothing stored, nothing sent.
 */

/** @type {Config} */
export const config = __CMP_CONFIG__;

/** The site's endpoints on the CMP server. */
export const siteUrl = `${config.api}/api/v1/sites/${config.site}`;

/** The visitor's language and the banner's texts in it. */
export const language = pickLanguage(config);
export const texts = config.texts[language];

/** The visitor's regime (Config.regime), and whether it is the one that asks first. */
export const regime = config.regime || 'opt_in';
export const optIn = regime == 'opt_in';

/** A preview (for the site's operator) ignores and keeps no decision, and tells the server nothing. */
export const preview = config.preview;

/** Always allowed, whatever the visitor decides. */
export const isRequired = (key) => config.categories.some((category) => category.key === key && category.required);
