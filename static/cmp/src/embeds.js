// The placeholder of a blocked iframe (docs/integration.md, "Blocked embeds"): what it waits for,
// "Load this once" and "Always allow". It is drawn inside the iframe's own empty document, so the
// iframe keeps its box (no layout shift, whatever the site's CSS does with it), the page's CSS
// cannot reach it, and loading the iframe replaces it.
import { categoriesOf, loadOnce } from './blocker.js';
import { config, language, texts } from './config.js';
import { currentConsent, decide, isAllowed } from './consent.js';
import { button, h } from './elements.js';
import { gpc } from './signals.js';
import { stylesheet } from './styles.js';

/**
 * Draws the placeholder into the blocked iframe, once. A sandboxed iframe's document is out of
 * reach: it stays empty until it loads.
 * @param {HTMLIFrameElement} frame
 */
export function drawPlaceholder(frame) {
  const doc = frame.contentDocument;
  if (!doc?.body || doc.body.firstChild) return;
  const waiting = categoriesOf(frame).filter((key) => !isAllowed(key));
  const names = waiting.map((key) => texts.categories[key]?.name || key).join(', ');
  // Allowing it records a decision, as the preferences' Save does: these categories added to the
  // ones allowed. Marketing under Global Privacy Control cannot be allowed.
  const allow = () =>
    decide('custom', 'preferences', {
      ...currentConsent()?.categories,
      ...Object.fromEntries(waiting.map((key) => [key, true])),
    });
  doc.documentElement.lang = language;
  doc.adoptedStyleSheets = [stylesheet(doc.defaultView)];
  doc.body.append(
    h('p', {}, texts.blockedEmbed.replace('{category}', names)),
    button(texts.loadOnce, () => loadOnce(frame), 'secondary'),
    !(gpc() && waiting.includes('marketing') && !config.gpcOverride) && button(texts.alwaysAllow.replace('{category}', names), allow),
  );
}
