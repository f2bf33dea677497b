// The banner and the preferences dialog, in a shadow root: the host page's CSS cannot reach them
// and theirs cannot leak out. Built with DOM calls (no HTML strings, no inline styles).
import { stylesheet } from './styles.js';

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const key in props) {
    if (key.startsWith('on')) el.addEventListener(key.slice(2), props[key]);
    else el.setAttribute(key, props[key]);
  }
  el.append(...children.filter(Boolean));
  return el;
}

// o: {config, texts, gpc, consent(), decide(action, source, choices?), forget(), receiptUrl(id)}
export function createUI(o) {
  const { config, texts: t } = o;
  const host = h('cmp-banner');
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [stylesheet(config.theme?.colour, config.theme?.text)];
  // Where focus goes back to: the host page's element, or the banner's Customize button.
  let back;
  let opener;

  const button = (label, onclick, cls) => h('button', { type: 'button', class: cls || '', onclick }, label);
  // Accept and Reject look the same: one is exactly as prominent as the other.
  const decisionButtons = (source, first, last) =>
    h(
      'div',
      { class: 'k' },
      first,
      button(t.acceptAll, () => o.decide('accept_all', source)),
      button(t.rejectAll, () => o.decide('reject_all', source)),
      last,
    );
  const gpcNote = () => o.gpc && h('p', { class: 's', role: 'status' }, t.gpc);
  const { url, updated } = config.policy;

  const banner = h(
    'div',
    { class: 'b ' + (config.theme?.position || 'bottom'), role: 'dialog', 'aria-labelledby': 't', 'aria-describedby': 'd', tabindex: '-1' },
    h(
      'div',
      { class: 'i' },
      h(
        'div',
        { class: 't' },
        h('h2', { id: 't' }, t.title),
        h('p', { id: 'd' }, t.description),
        gpcNote(),
        // The date as published (YYYY-MM-DD): formatting it with Intl would load locale data first.
        h(
          'p',
          { class: 's' },
          url && h('a', { href: url, target: '_blank', rel: 'noopener' }, t.policy),
          updated && ` · ${t.updated} `,
          updated && h('time', { datetime: updated }, updated),
        ),
      ),
      decisionButtons('banner', null, button(t.customize, () => showPreferences(), 'o')),
    ),
  );

  const switches = {};
  const links = h('p', { class: 'm s' });
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'p', onclose: closed, onkeydown: trapFocus },
    h('div', { class: 'h' }, h('h2', { id: 'p' }, t.prefsTitle), h('button', { type: 'button', class: 'x', 'aria-label': t.close, onclick: () => dialog.close() }, '×')),
    gpcNote(),
    ...config.categories.map(({ key, required }) => {
      const text = t.categories[key] || { name: key };
      const input = (switches[key] = h('input', { type: 'checkbox', role: 'switch', 'aria-describedby': 'c-' + key }));
      // Always on, or refused by Global Privacy Control: not the visitor's to switch here.
      input.disabled = required || (o.gpc && key === 'marketing');
      input.checked = required;
      return h(
        'div',
        { class: 'g' },
        h('label', {}, h('span', {}, text.name), required && h('small', { class: 's' }, t.alwaysOn), input),
        h('p', { class: 's', id: 'c-' + key }, text.description),
      );
    }),
    decisionButtons('preferences', button(t.save, save, 'w')),
    links,
  );
  root.append(banner, dialog);
  banner.hidden = true;
  document.body.append(host);

  function save() {
    const choices = {};
    for (const key in switches) choices[key] = switches[key].checked;
    o.decide('custom', 'preferences', choices);
  }

  function remember() {
    if (document.activeElement !== host) back = document.activeElement;
  }

  function showBanner() {
    remember();
    banner.hidden = false;
    banner.focus({ preventScroll: true });
  }

  function showPreferences() {
    remember();
    opener = root.activeElement;
    const consent = o.consent();
    for (const key in switches) if (!switches[key].disabled) switches[key].checked = !!consent?.categories[key];
    links.replaceChildren(
      ...(consent
        ? [
            button(t.forget, o.forget, 'l'),
            button(t.receipt, o.receipt, 'l'),
          ]
        : []),
    );
    banner.hidden = true;
    if (!dialog.open) dialog.showModal();
  }

  // Escape, the close button or a decision closed the dialog: without a decision the banner asks again.
  function closed() {
    if (o.consent()) return back?.focus?.();
    banner.hidden = false;
    (banner.contains(opener) ? opener : banner).focus();
  }

  function hide() {
    banner.hidden = true;
    if (dialog.open) dialog.close();
    else back?.focus?.();
  }

  // The modal dialog keeps Tab and Shift+Tab inside it.
  function trapFocus(event) {
    if (event.key !== 'Tab') return;
    const items = [...dialog.querySelectorAll('button,a[href],input:not(:disabled)')].filter((el) => el.getClientRects().length);
    const edge = event.shiftKey ? items[0] : items[items.length - 1];
    if (root.activeElement === edge) {
      event.preventDefault();
      (event.shiftKey ? items[items.length - 1] : items[0]).focus();
    }
  }

  return { showBanner, showPreferences, hide };
}
