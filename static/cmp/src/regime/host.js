// What the widget gives this script (static/cmp/src/main.js, loadRegime): set on the <script>
// element that loads it, and read while it runs, so that none of it is public. The widget's own
// modules that this script shares (elements.js, styles.js) read the same config: the build makes
// their __CMP_CONFIG__ this one (scripts/build-widget.sh).

/**
 * @typedef {object} Host
 * @property {import('../config.js').Config} config The site's config, as the widget has it.
 * @property {string} language The visitor's language, as the widget chose it.
 * @property {(action: string, source: string, choices?: Object<string, boolean>) => void} decide
 *   The widget's own: makes, applies, keeps and sends a decision.
 * @property {1} [asked] CMP.showPreferences() was called before this script loaded.
 */

/** @type {Host} */
export const host = document.currentScript.host;
export const { config, language, decide } = host;
export const texts = config.texts[language];
