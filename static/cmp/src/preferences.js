// The second layer: a modal <dialog> naming the controller and the recipients, with a switch per
// category and the list of its cookies, the decision buttons, and, once the visitor has decided,
// "Forget me" and the receipt.
import { config, siteUrl, texts } from './config.js';
import { button, decisionButtons, gpcNote, h, keepFocusInside } from './elements.js';
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
    fact(texts.controller, config.controller?.name),
    fact(texts.contact, contactLink(config.controller?.contact)),
    fact(texts.recipients, config.recipients?.join(', ')),
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

// Who is responsible, how to reach them, who receives data: one line each, when the site says.
const fact = (label, value) => value && h('p', { class: 'muted' }, `${label}: `, value);

// An email address as a mailto: link, a web address as a link, anything else as it is.
function contactLink(contact) {
  if (/^[^\s@]+@[^\s@]+$/.test(contact)) return h('a', { href: 'mailto:' + contact }, contact);
  if (/^https?:\/\//i.test(contact)) return h('a', { href: contact, target: '_blank', rel: 'noopener' }, contact);
  return contact;
}

// Each category's cookies: their names from the config at first, the rest from the server once the
// dialog has opened (cookieDetails).
const cookieLists = {};

function categorySwitch({ key, required, cookies }) {
  const text = texts.categories[key] || { name: key };
  const input = h('input', { type: 'checkbox', role: 'switch', name: key, 'aria-describedby': 'about-' + key });
  // Always on, or refused by Global Privacy Control: not the visitor's to switch here.
  input.disabled = required || (gpc() && key === 'marketing' && !config.gpcOverride);
  input.checked = required;
  return h(
    'div',
    { class: 'category' },
    h('label', {}, h('span', {}, text.name), required && h('small', { class: 'muted' }, texts.alwaysOn), input),
    h('p', { class: 'muted', id: 'about-' + key }, text.description),
    cookies?.length &&
      h(
        'details',
        {},
        h('summary', {}, `${texts.cookie} (${cookies.length})`),
        (cookieLists[key] = h('ul', {}, ...cookies.map((name) => cookieItem({ name })))),
      ),
  );
}

const cookieItem = (cookie) =>
  h(
    'li',
    {},
    h('code', {}, cookie.name),
    ...['provider', 'purpose', 'duration'].map(
      (field) => cookie[field] && h('div', {}, `${texts[field]}: ${cookie[field]}`),
    ),
  );

// The cookies' provider, purpose and duration, asked for once, when the dialog first opens: a
// visitor who never opens it costs no request.
let detailsAsked;
function cookieDetails() {
  detailsAsked ||= fetch(siteUrl + '/cookies', { credentials: 'omit' })
    .then((response) => response.json())
    .then(({ categories }) => {
      for (const key in cookieLists)
        if (categories[key]) cookieLists[key].replaceChildren(...categories[key].map(cookieItem));
    })
    .catch(() => {});
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
  cookieDetails();
}
