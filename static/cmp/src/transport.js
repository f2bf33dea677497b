// Talking to the CMP server. Decisions (and "forget me") wait in a localStorage queue and are
// sent, with retries, until the server answers; a page opened later sends what is left. Where
// localStorage cannot keep the queue (a sandboxed frame, storage off or full), it lives in memory,
// as long as the page.
const KEY = 'cmp_pending';

export function transport(base) {
  let delay = 1000;
  let timer;
  let busy;
  // The queue, once localStorage has failed to keep it.
  let memory;

  const load = () => {
    if (memory) return memory;
    try {
      return JSON.parse(localStorage.getItem(KEY)) || [];
    } catch {
      return [];
    }
  };
  const store = (queue) => {
    try {
      if (queue.length) localStorage.setItem(KEY, JSON.stringify(queue));
      else localStorage.removeItem(KEY);
      memory = null;
    } catch {
      memory = queue;
    }
  };
  const post = (item, keepalive) =>
    fetch(base + item.path, {
      method: 'POST',
      headers: item.body ? { 'Content-Type': 'application/json' } : {},
      body: item.body && JSON.stringify(item.body),
      credentials: 'omit',
      keepalive,
    });

  async function flush() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    for (let item; (item = load()[0]); ) {
      let status = 0;
      let response;
      try {
        response = await post(item, true);
        status = response.status;
      } catch {
        // No answer: status 0, tried again below.
      }
      // Another browser holds this id's visitor token: main.js goes on under a new id.
      if (status === 403 && (await response.json().catch(() => ({}))).error?.code === 'visitor_token_refused')
        dispatchEvent(new CustomEvent('cmp:refused', { detail: item.id }));
      // No answer, a server error or throttling: try again later. Any other answer is final.
      if (!status || status >= 500 || status === 429) {
        timer = setTimeout(flush, delay);
        delay = Math.min(delay * 2, 60000);
        break;
      }
      delay = 1000;
      store(load().filter((queued) => queued.n !== item.n));
    }
    busy = false;
  }

  addEventListener('online', flush);
  // The page is going away while a retry waits: send what is queued with keepalive, which outlives
  // the page like sendBeacon but, unlike it, needs no credentialed CORS for a JSON body.
  addEventListener('pagehide', () => {
    if (!busy) for (const item of load()) post(item, true).catch(() => {});
  });
  // Reading localStorage can block for a while on a fresh profile: not before the banner shows.
  setTimeout(flush, 1000);

  return {
    // Queues a request; a "forget" makes the queued decisions of that visitor pointless.
    send(path, body, consentId) {
      const queue = load().filter((queued) => !(path.endsWith('/forget') && queued.id === consentId));
      store([...queue, { n: Date.now() + Math.random(), path, body, id: consentId }].slice(-20));
      flush();
    },
    // The banner was shown: counted by the server, anonymously. Like sendBeacon (same text/plain body,
    // outlives the page) but without the browser's cookies for the CMP host; a failure changes nothing.
    impression(language) {
      fetch(base + '/impressions', {
        method: 'POST',
        body: JSON.stringify({ language }),
        credentials: 'omit',
        keepalive: true,
        mode: 'no-cors',
      }).catch(() => {});
    },
  };
}
