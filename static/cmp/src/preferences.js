// The second layer: a modal <dialog> with a switch per category and the decision buttons, and,
// once the visitor has decided, "Forget me" and the receipt.
import { config, texts } from './config.js';
import { button, decisionButtons, gpcNote, h } from './elements.js';
import { gpc } from './signals.js';

/**
 * The preferences dialog, closed.
 * @param {(action: string, source: string, choices?: Object<string, boolean>) => void} decide
 * @param {() => void} onClose Runs when the dialog closes, whatever closed it.
 */
export function buildPreferences(decide, onClose) {
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'preferences-title', onclose: onClose, onkeydown: keepFocusInside },
    h(
      'div',
      { class: 'header' },
      h('h2', { id: 'preferences-title' }, texts.prefsTitle),
      h('button', { type: 'button', class: 'close', 'aria-label': texts.close, onclick: () => dialog.close() }, '×'),
    ),
    gpcNote(),
    ...config.categories.map(categorySwitch),
    decisionButtons(
      decide,
      'preferences',
      button(texts.save, () => decide('custom', 'preferences', switchedOn(dialog)), 'save'),
    ),
    h('p', { class: 'links muted' }),
  );
  return dialog;
}

function categorySwitch({ key, required }) {
  const text = texts.categories[key] || { name: key };
  const input = h('input', { type: 'checkbox', role: 'switch', name: key, 'aria-describedby': 'about-' + key });
  // Always on, or refused by Global Privacy Control: not the visitor's to switch here.
  input.disabled = required || (gpc() && key === 'marketing');
  input.checked = required;
  return h(
    'div',
    { class: 'category' },
    h('label', {}, h('span', {}, text.name), required && h('small', { class: 'muted' }, texts.alwaysOn), input),
    h('p', { class: 'muted', id: 'about-' + key }, text.description),
  );
}

// What the switches say: each category's key (the switch's `name`), on or off.
function switchedOn(dialog) {
  const choices = {};
  for (const input of dialog.querySelectorAll('input')) choices[input.name] = input.checked;
  return choices;
}

/**
 * Before the dialog opens: the switches the visitor may change show the decision in force, and a
 * visitor who has decided is offered "Forget me" and the receipt.
 * @param {HTMLDialogElement} dialog
 * @param {import('./ui.js').UIOptions} options
 */
export function refreshPreferences(dialog, { consent, forget, receipt }) {
  const current = consent();
  for (const input of dialog.querySelectorAll('input'))
    if (!input.disabled) input.checked = !!current?.categories[input.name];
  const links = current ? [button(texts.forget, forget, 'link'), button(texts.receipt, receipt, 'link')] : [];
  dialog.querySelector('.links').replaceChildren(...links);
}

// A modal dialog keeps Tab and Shift+Tab inside it: from the last element to the first, and back.
function keepFocusInside(event) {
  if (event.key !== 'Tab') return;
  const dialog = event.currentTarget;
  const items = [...dialog.querySelectorAll('button,a[href],input:not(:disabled)')].filter(
    (element) => element.getClientRects().length,
  );
  const [first, last] = [items[0], items[items.length - 1]];
  if (dialog.getRootNode().activeElement === (event.shiftKey ? first : last)) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
  }
}
