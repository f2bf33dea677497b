// The opt-out regime's UI: the floating "Your Privacy Choices" button, and its dialog: what the site
// sells or shares, a switch per category the visitor may refuse, "Opt out" (of the sale and sharing:
// marketing off, the rest as it is, in one click), "Save" (the switches as set). A modal <dialog>
// like the widget's preferences: labelled by its title, focus moved in and back, Escape closes it.
import { button, h, keepFocusInside } from '../elements.js';
import { gpc } from '../signals.js';
import { config, decide, texts } from './host.js';
import { privacyChoicesIcon } from './icon.js';
import { policyLink } from './ui.js';

/** Whether the visitor refuses the sale and sharing of their data: marketing refused. */
export const optedOut = () => !window.CMP.isAllowed('marketing');

// Each category, allowed or not, as the decision in force (or the regime, before any) says.
const allowed = () => Object.fromEntries(config.categories.map(({ key }) => [key, window.CMP.isAllowed(key)]));

// Marketing under Global Privacy Control is refused, unless the site lets an explicit choice here
// outweigh the signal: not the visitor's to switch.
const locked = (key) => key === 'marketing' && gpc() && !config.gpcOverride;

function categorySwitch({ key }) {
  const text = texts.categories[key] || { name: key };
  const input = h('input', { type: 'checkbox', role: 'switch', name: key, 'aria-describedby': 'about-' + key });
  input.disabled = locked(key);
  return h(
    'div',
    { class: 'category' },
    h('label', {}, h('span', {}, text.name), input),
    h('p', { class: 'muted', id: 'about-' + key }, text.description),
  );
}

/**
 * Builds the dialog, closed, and the floating button, unless the site has none (it links to
 * CMP.showPreferences() itself), in `root`.
 * @param {ShadowRoot} root
 * @param {(shown: boolean) => void} onDisplay Told when the dialog opens and closes.
 * @returns {{open: () => void, refresh: () => void}} Opens the dialog; shows the decision in force.
 */
export function buildOptOut(root, onDisplay) {
  const status = h('p', { class: 'muted', role: 'status' });
  const switches = config.categories.filter((category) => !category.required).map(categorySwitch);
  const dialog = h(
    'dialog',
    {
      'aria-labelledby': 'opt-out-title',
      'aria-describedby': 'opt-out-description',
      onclose: closed,
      onkeydown: keepFocusInside,
    },
    h(
      'div',
      { class: 'header' },
      h('h2', { id: 'opt-out-title' }, texts.optOutTitle),
      h('button', { type: 'button', class: 'close', 'aria-label': texts.close, onclick: () => dialog.close() }, '×'),
    ),
    h('p', { id: 'opt-out-description' }, texts.optOutDescription),
    status,
    policyLink(),
    ...switches,
    h(
      'div',
      { class: 'actions pair' },
      // The dialog stays open and says that the visitor opted out.
      button(texts.optOut, () => decide('custom', 'preferences', { ...allowed(), marketing: false })),
      button(texts.save, () => {
        decide('custom', 'preferences', switchedOn());
        dialog.close();
      }),
    ),
  );
  root.append(dialog);
  const side = config.theme?.settingsButton || 'left';
  const float =
    side !== 'off' &&
    root.appendChild(
      h('button', { type: 'button', class: 'float ' + side, onclick: open }, privacyChoicesIcon(), texts.optOutLink),
    );

  // Where focus goes back to when the dialog closes: the page's element, or the floating button.
  let opener;

  function switchedOn() {
    const choices = {};
    for (const input of dialog.querySelectorAll('input')) choices[input.name] = input.checked;
    return choices;
  }

  function refresh() {
    for (const input of dialog.querySelectorAll('input'))
      input.checked = !locked(input.name) && window.CMP.isAllowed(input.name);
    const out = optedOut();
    status.textContent = [out && gpc() && texts.gpcOptOut, out && texts.optedOut].filter(Boolean).join(' ');
  }

  function open() {
    if (dialog.open) return;
    opener = root.activeElement || document.activeElement;
    refresh();
    onDisplay(true);
    dialog.showModal();
    if (float) float.hidden = true;
  }

  function closed() {
    if (float) float.hidden = false;
    onDisplay(false);
    opener?.focus?.();
  }

  return { open, refresh };
}
