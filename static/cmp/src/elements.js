// The UI's building blocks, made with DOM calls: no HTML strings (nothing to inject into) and no
// inline styles (a strict Content-Security-Policy forbids them).
import { texts } from './config.js';
import { gpc } from './signals.js';

// An element with its attributes (`on...` ones become event listeners) and children; false, null
// and undefined children are left out, so optional parts can be written inline.
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const name in attributes) {
    if (name.startsWith('on')) element.addEventListener(name.slice(2), attributes[name]);
    else element.setAttribute(name, attributes[name]);
  }
  element.append(...children.filter(Boolean));
  return element;
}

export const button = (label, onclick, className) =>
  h('button', { type: 'button', class: className || '', onclick }, label);

// Accept and Reject look the same: one is exactly as prominent as the other.
export const decisionButtons = (decide, source, first, last) =>
  h(
    'div',
    { class: 'actions' },
    first,
    button(texts.acceptAll, () => decide('accept_all', source)),
    button(texts.rejectAll, () => decide('reject_all', source)),
    last,
  );

// Both layers say when Global Privacy Control has refused marketing.
export const gpcNote = () => gpc() && h('p', { class: 'muted', role: 'status' }, texts.gpc);

// A modal dialog keeps Tab and Shift+Tab inside it: from the last element to the first, and back.
export function keepFocusInside(event) {
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
