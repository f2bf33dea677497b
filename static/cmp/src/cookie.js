// The visitor's decision, kept in the first-party cookie `cmp_consent` (format: docs/integration.md,
// "The banner widget"), and the deletion of a withdrawn category's cookies.
const NAME = 'cmp_consent';

/**
 * A decision as the cookie keeps it (docs/integration.md, "The cookie").
 * @typedef {object} Decision
 * @property {1} v The format version.
 * @property {string} id The visitor's consent id.
 * @property {string} tk The visitor token.
 * @property {number} pv The policy version decided under.
 * @property {number} t When, in unix seconds.
 * @property {number} exp When it expires, in unix seconds.
 * @property {string} src Where it was made: banner, preferences, api or gpc.
 * @property {Object<string, 0 | 1>} c Each category, 1 allowed or 0 refused.
 * @property {1} [g] Made while the browser sent Global Privacy Control.
 * @property {1} [r] Made under the opt-out or notice regime: no consent where the opt-in regime applies.
 */

// Documents without cookies (sandboxed frames, about:blank) throw on document.cookie: no cookies then.
const jar = () => {
  try {
    return document.cookie;
  } catch {
    return '';
  }
};
const set = (cookie) => {
  try {
    document.cookie = cookie;
  } catch {
    // A document without cookies: nothing to keep.
  }
};

export function readDecision() {
  const found = jar().match(/(?:^|;\s*)cmp_consent=([^;]*)/);
  try {
    const d = found && JSON.parse(decodeURIComponent(found[1]));
    return d && d.v === 1 && d.id && d.c ? d : null;
  } catch {
    return null;
  }
}

export function writeDecision(decision) {
  const secure = location.protocol === 'https:' ? ';secure' : '';
  const value = encodeURIComponent(JSON.stringify(decision));
  set(`${NAME}=${value};path=/;max-age=${decision.exp - decision.t};samesite=lax${secure}`);
}

export const clearDecision = () => expire(NAME);

// Whether a cookie name matches a pattern in which `*` matches any run of characters. The fixed
// pieces between the stars are found left to right, each as early as it can be: time linear in
// the name however many stars (a regular expression could backtrack for seconds).
export function matchesPattern(name, pattern) {
  const pieces = pattern.split('*');
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (pieces.length === 1) return name === pattern;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  const end = name.length - last.length;
  let at = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

// Deletes the cookies whose names match any pattern, wherever this page can see them set: on this
// host and each parent domain (where trackers usually set them), for each path from / down to this
// page's.
export function deleteCookies(patterns) {
  if (!patterns.length) return;
  for (const pair of jar().split(';')) {
    const name = pair.split('=')[0].trim();
    if (name && name !== NAME && patterns.some((pattern) => matchesPattern(name, pattern))) expire(name);
  }
}

// A cookie is replaced only by one of the same name, domain and path. Host-only, then the host and
// each parent domain: a.b.shop.example, b.shop.example, shop.example (the browser ignores a public
// suffix); each on /, /a, /a/b... for the page /a/b/c.
// A __Secure- or __Host- cookie is replaced only by a Secure one (a __Host- one only on / and
// host-only, which the loop includes).
function expire(name) {
  const labels = location.hostname.split('.');
  const folders = location.pathname.split('/');
  const secure = /^__(Secure|Host)-/.test(name) ? ';secure' : '';
  for (let depth = 1; depth <= folders.length; depth++) {
    const gone = `${name}=;path=${folders.slice(0, depth).join('/') || '/'};max-age=0${secure}`;
    set(gone);
    for (let i = 0; i < labels.length - 1; i++) set(`${gone};domain=.${labels.slice(i).join('.')}`);
  }
}
