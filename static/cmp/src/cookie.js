// The visitor's decision, kept in the first-party cookie `cmp_consent` (format: README,
// "The banner widget"), and the deletion of a withdrawn category's cookies.
const NAME = 'cmp_consent';

export function readDecision() {
  const found = document.cookie.match(/(?:^|;\s*)cmp_consent=([^;]*)/);
  try {
    const d = found && JSON.parse(decodeURIComponent(found[1]));
    return d && d.v === 1 && d.id && d.c ? d : null;
  } catch {
    return null;
  }
}

export function writeDecision(decision) {
  document.cookie = `${NAME}=${encodeURIComponent(JSON.stringify(decision))};path=/;max-age=${
    decision.exp - decision.t
  };samesite=lax${location.protocol === 'https:' ? ';secure' : ''}`;
}

export const clearDecision = () => expire(NAME);

// Deletes the cookies whose names match any pattern (`*` matches any run of characters), on this
// host and on each parent domain, where trackers usually set them.
export function deleteCookies(patterns) {
  if (!patterns.length) return;
  const escaped = patterns.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  const match = new RegExp(`^(?:${escaped.join('|')})$`);
  for (const pair of document.cookie.split(';')) {
    const name = pair.split('=')[0].trim();
    if (name && name !== NAME && match.test(name)) expire(name);
  }
}

function expire(name) {
  const gone = `${name}=;path=/;max-age=0`;
  const labels = location.hostname.split('.');
  document.cookie = gone;
  for (let i = 0; i < labels.length - 1; i++) document.cookie = `${gone};domain=.${labels.slice(i).join('.')}`;
}
