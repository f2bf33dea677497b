// The visitor's decision, kept in the first-party cookie `cmp_consent` (format: docs/integration.md,
// "The banner widget"), and the deletion of a withdrawn category's cookies.
const NAME = 'cmp_consent';

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
  } catch {}
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

// Deletes the cookies whose names match any pattern (`*` matches any run of characters), on this
// host and on each parent domain, where trackers usually set them.
export function deleteCookies(patterns) {
  if (!patterns.length) return;
  const escaped = patterns.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  const match = new RegExp(`^(?:${escaped.join('|')})$`);
  for (const pair of jar().split(';')) {
    const name = pair.split('=')[0].trim();
    if (name && name !== NAME && match.test(name)) expire(name);
  }
}

function expire(name) {
  const gone = `${name}=;path=/;max-age=0`;
  const labels = location.hostname.split('.');
  set(gone);
  for (let i = 0; i < labels.length - 1; i++) set(`${gone};domain=.${labels.slice(i).join('.')}`);
}
