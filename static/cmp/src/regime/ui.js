// The regime's UI in a shadow root, as the widget's own (../ui.js): the page's CSS cannot reach it,
// nor its CSS the page. It speaks the visitor's language, wears the widget's stylesheet and a few
// rules of its own, and has the pieces the opt-out dialog and the notice share.
import { h } from '../elements.js';
import { stylesheet } from '../styles.js';
import { config, language, texts } from './host.js';

const CSS = `
.float{display:flex;align-items:center;gap:8px}
.pair{grid-template-columns:1fr 1fr}
.notice .actions{flex:0 0 auto;grid-template-columns:auto}
p:empty{margin:0}`;

/** An empty shadow root, at the end of the page's body. */
export function buildRoot() {
  const element = h('cmp-banner', { lang: language });
  const root = element.attachShadow({ mode: 'open' });
  const own = new CSSStyleSheet();
  own.replaceSync(CSS);
  root.adoptedStyleSheets = [stylesheet(), own];
  document.body.append(element);
  return root;
}

/** The link to the site's policy, when it has one. */
export const policyLink = () =>
  config.policy.url &&
  h('p', { class: 'muted' }, h('a', { href: config.policy.url, target: '_blank', rel: 'noopener' }, texts.policy));
