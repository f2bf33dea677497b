// The first layer: what the site asks, its policy, and Accept all, Reject all and Customize.
import { config, texts } from './config.js';
import { button, decisionButtons, gpcNote, h } from './elements.js';

/**
 * The banner, a labelled non-modal dialog.
 * @param {(action: string, source: string) => void} decide
 * @param {() => void} customize Opens the preferences.
 */
export function buildBanner(decide, customize) {
  return h(
    'div',
    {
      class: 'banner ' + (config.theme?.position || 'bottom'),
      role: 'dialog',
      'aria-labelledby': 'title',
      'aria-describedby': 'description',
      tabindex: '-1',
    },
    h(
      'div',
      { class: 'layout' },
      h(
        'div',
        { class: 'text' },
        h('h2', { id: 'title' }, texts.title),
        h('p', { id: 'description' }, texts.description),
        gpcNote(),
        policyLine(config.policy),
      ),
      decisionButtons(decide, 'banner', null, button(texts.customize, customize, 'secondary')),
    ),
  );
}

// The link to the policy and its date as published (YYYY-MM-DD): formatting the date with Intl
// would load locale data first. The separator only between the two; no line when neither.
function policyLine({ url, updated }) {
  return (
    (url || updated) &&
    h(
      'p',
      { class: 'muted' },
      url && h('a', { href: url, target: '_blank', rel: 'noopener' }, texts.policy),
      url && updated && ' · ',
      updated && `${texts.updated} `,
      updated && h('time', { datetime: updated }, updated),
    )
  );
}
