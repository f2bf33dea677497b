// The UI: the banner, the preferences dialog and the floating "cookie settings" button in a shadow
// root, where the host page's CSS cannot reach them and theirs cannot leak out; which of them
// shows, and where focus goes.
import { buildBanner } from './banner.js';
import { config, language, texts } from './config.js';
import { button, h } from './elements.js';
import { buildPreferences, refreshPreferences } from './preferences.js';
import { keepRoom } from './room.js';
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

/** Where the floating "cookie settings" button shows: left, right or off. */
export const settingsButton = config.theme?.settingsButton || 'left';

// The UI, built once per page: its options, its shadow root and its parts.
let options;
let root;
let banner;
let dialog;
let settings;
// Where focus goes back to: the host page's element that had it before the UI took it, and the
// UI's button that opened the preferences.
let returnTo;
let opener;

export const isBuilt = () => !!root;

/**
 * Builds the UI, hidden, at the end of the page's body, in the visitor's language.
 * @param {UIOptions} given
 */
export function buildUI(given) {
  options = given;
  const host = h('cmp-banner', { lang: language });
  root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [stylesheet()];
  banner = buildBanner(given.decide, showPreferences);
  dialog = buildPreferences(given.decide, closed);
  settings = button(texts.settings, showPreferences, 'float ' + settingsButton);
  banner.hidden = settings.hidden = true;
  root.append(banner, dialog, settings);
  document.body.append(host);
  // The room the banner keeps on the page while it shows (room.js).
  keepRoom(banner, config.theme?.position || 'bottom');
}

/** The floating button shows once the visitor has decided (the banner asks only before), while the
 * dialog is closed. */
export function showSettingsButton() {
  settings.hidden = settingsButton == 'off' || !options.consent() || dialog.open;
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
  showSettingsButton();
}

// A decision was made: neither layer shows any more. Closing the dialog returns focus (closed, below).
export function hideUI() {
  if (!root) return;
  banner.hidden = true;
  if (dialog.open) dialog.close();
  else returnTo?.focus?.();
  showSettingsButton();
}

// Escape, the close button or a decision closed the dialog: without a decision the banner asks
// again; with one, focus returns to the floating button or the page's element that opened it.
function closed() {
  const decided = options.consent();
  banner.hidden = !!decided;
  showSettingsButton();
  if (decided) (opener === settings ? settings : returnTo)?.focus?.();
  else (banner.contains(opener) ? opener : banner).focus();
}
