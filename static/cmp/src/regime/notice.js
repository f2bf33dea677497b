// The notice regime's UI: a bar that tells what the site does, with its policy, until the visitor
// dismisses it. The dismissal is kept in a first-party cookie for a year, and sent nowhere: it
// decides nothing.
import { button, h } from '../elements.js';
import { keepRoom } from '../room.js';
import { config, texts } from './host.js';
import { policyLink } from './ui.js';

const DISMISSED = 'cmp_notice=1';

// A sandboxed frame may refuse cookies: the notice then shows on every page.
function dismissedBefore() {
  try {
    return document.cookie.split(/;\s*/).includes(DISMISSED);
  } catch {
    return false;
  }
}

function rememberDismissal() {
  const secure = location.protocol === 'https:' ? ';secure' : '';
  try {
    document.cookie = `${DISMISSED};path=/;max-age=${365 * 86400};samesite=lax${secure}`;
  } catch {
    // Shown again on the next page.
  }
}

/**
 * Builds the notice in `root`, showing unless the visitor dismissed it before.
 * @param {ShadowRoot} root
 * @returns {() => void} Shows it again, with focus on it (CMP.showPreferences()).
 */
export function buildNotice(root) {
  const position = config.theme?.position || 'bottom';
  // Where focus goes back to, when showing it took focus.
  let returnTo;
  const notice = h(
    'div',
    { class: 'banner notice ' + position, role: 'region', 'aria-labelledby': 'title', tabindex: '-1' },
    h(
      'div',
      { class: 'layout' },
      h('div', { class: 'text' }, h('h2', { id: 'title' }, texts.title), h('p', {}, texts.noticeDescription), policyLink()),
      h(
        'div',
        { class: 'actions' },
        button(texts.noticeOk, () => {
          notice.hidden = true;
          rememberDismissal();
          returnTo?.focus?.();
          returnTo = null;
        }),
      ),
    ),
  );
  notice.hidden = dismissedBefore();
  root.append(notice);
  keepRoom(notice, position);
  return () => {
    if (notice.hidden) returnTo = document.activeElement;
    notice.hidden = false;
    notice.focus({ preventScroll: true });
  };
}
