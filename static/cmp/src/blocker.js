// Blocked elements (docs/integration.md, "Blocking trackers") run or load once their category is
// allowed: in document order, once each, including elements added later. A blocked iframe shows a
// placeholder meanwhile (embeds.js).
const BLOCKED = 'script[type="text/plain"][data-category],iframe[data-category][data-src],img[data-category][data-src]';

const done = new WeakSet();
// Each element waits for the one before it: an external script runs before the scripts after it.
let queue = Promise.resolve();
let isAllowed;
let placeholder;

/** The categories an element waits for. */
export const categoriesOf = (el) => el.dataset.category.trim().split(/\s+/);

/**
 * Watches the document from now on.
 * @param {(category: string) => boolean} allowed The decision's isAllowed.
 * @param {(frame: HTMLIFrameElement) => void} drawPlaceholder Shows what a blocked iframe waits for.
 */
export function startBlocker(allowed, drawPlaceholder) {
  isAllowed = allowed;
  placeholder = drawPlaceholder;
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  scan();
}

// Unblocks what is now allowed; called again after every decision.
export function scan() {
  for (const el of document.querySelectorAll(BLOCKED)) {
    if (done.has(el)) continue;
    if (categoriesOf(el).every(isAllowed)) loadOnce(el);
    else if (el.tagName === 'IFRAME') placeholder(el);
  }
}

/** Runs or loads the element now, whatever is allowed, and never again. */
export function loadOnce(el) {
  done.add(el);
  queue = queue.then(() => enable(el));
}

// Resolves once the element may be followed by the next one: an external script after it ran.
function enable(el) {
  if (!el.isConnected) return;
  if (el.tagName !== 'SCRIPT') {
    if (el.dataset.srcset) el.srcset = el.dataset.srcset;
    el.src = el.dataset.src;
    return;
  }
  const script = document.createElement('script');
  for (const { name, value } of el.attributes) if (name !== 'type') script.setAttribute(name, value);
  if (el.dataset.type) script.type = el.dataset.type;
  // Browsers hide the nonce attribute's value; the property keeps it.
  script.nonce = el.nonce;
  script.async = false;
  script.text = el.text;
  const ran = script.src && new Promise((resolve) => (script.onload = script.onerror = resolve));
  el.replaceWith(script);
  return ran;
}
