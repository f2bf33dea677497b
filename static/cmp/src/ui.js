// The UI: the banner and the preferences dialog in a shadow root, where the host page's CSS cannot
// reach them and theirs cannot leak out; which of the two shows, and where focus goes.
import { buildBanner } from './banner.js';
import { config } from './config.js';
import { h } from './elements.js';
import { buildPreferences, refreshPreferences } from './preferences.js';
import { stylesheet } from './styles.js';

/**
 * What the UI's buttons do, and what it shows of the decision (the site's config and texts come
 * from config.js).
 * @typedef {object} UIOptions
 * @property {() => object | null} consent The decision in force, as CMP.getConsent() gives it.
 * @property {(action: string, source: string, choices?: Object<string, boolean>) => void} decide
 * @property {() => void} forget "Forget me".
 * @property {() => void} receipt Saves the receipt of the latest decision.
 */

// The UI, built once per page: its options, its shadow root and its two layers.
let options;
let root;
let banner;
let dialog;
// Where focus goes back to: the host page's element that had it before the UI took it, and the
// banner's button that opened the preferences.
let returnTo;
let opener;

export const isBuilt = () => !!root;

/**
 * Builds the UI, hidden, at the end of the page's body.
 * @param {UIOptions} given
 */
export function buildUI(given) {
  options = given;
  const host = h('cmp-banner');
  root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [stylesheet(config.theme?.colour, config.theme?.text)];
  banner = buildBanner(given.decide, showPreferences);
  dialog = buildPreferences(given.decide, closed);
  banner.hidden = true;
  root.append(banner, dialog);
  document.body.append(host);
}

function rememberFocus() {
  if (document.activeElement !== root.host) returnTo = document.activeElement;
}

export function showBanner() {
  rememberFocus();
  banner.hidden = false;
  banner.focus({ preventScroll: true });
}

export function showPreferences() {
  rememberFocus();
  opener = root.activeElement;
  refreshPreferences(dialog, options);
  banner.hidden = true;
  if (!dialog.open) dialog.showModal();
}

// A decision was made: nothing shows any more. Closing the dialog returns focus (closed, below).
export function hideUI() {
  if (!root) return;
  banner.hidden = true;
  if (dialog.open) dialog.close();
  else returnTo?.focus?.();
}

// Escape, the close button or a decision closed the dialog: without a decision the banner asks again.
function closed() {
  if (options.consent()) return returnTo?.focus?.();
  banner.hidden = false;
  (banner.contains(opener) ? opener : banner).focus();
}
