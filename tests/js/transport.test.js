// Unit tests of the widget's transport (static/cmp/src/transport.js): what it queues, how it
// retries, what a later page sends, what it drops. The browser's globals it uses are stubbed here,
// as little as it needs: localStorage, fetch, window events, and a clock for setTimeout.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { transport } from '../../static/cmp/src/transport.js';

const BASE = 'https://cmp.example/api/v1/sites/site-key';
const KEY = 'cmp_pending';
const real = { setTimeout, clearTimeout, fetch: globalThis.fetch };

let storage; // what localStorage holds, by key
let requests; // every fetch: {url, options}
let answer; // what the server does with a request: a status, or 'offline'
let page; // the page's window, for addEventListener and dispatchEvent
let timers; // pending setTimeout callbacks, by id: {run, at}
let clock; // ms since the page opened

beforeEach(() => {
  storage = new Map();
  requests = [];
  answer = () => 201;
  clock = 0;
  timers = new Map();
  newPage();
  globalThis.localStorage = {
    getItem: (key) => storage.get(key) ?? null,
    setItem: (key, value) => storage.set(key, String(value)),
    removeItem: (key) => storage.delete(key),
  };
  globalThis.fetch = async (url, options) => {
    requests.push({ url, options });
    // A transport that sends the same request again and again would never let the test end.
    if (requests.length > 100) return new Promise(() => {});
    const outcome = await answer({ url, options });
    if (outcome === 'offline') throw new TypeError('Failed to fetch');
    const { status, body } = typeof outcome === 'number' ? { status: outcome } : outcome;
    return {
      status,
      json: async () => {
        if (body === undefined) throw new SyntaxError('Unexpected end of JSON input');
        return body;
      },
    };
  };
  let ids = 0;
  globalThis.setTimeout = (run, ms) => (timers.set(++ids, { run, at: clock + ms }), ids);
  globalThis.clearTimeout = (id) => timers.delete(id);
});

afterEach(() => {
  Object.assign(globalThis, real);
  for (const name of ['localStorage', 'addEventListener', 'dispatchEvent']) delete globalThis[name];
});

// A new page: its own window (the listeners of the one before are gone); localStorage stays.
function newPage() {
  page = new EventTarget();
  globalThis.addEventListener = page.addEventListener.bind(page);
  globalThis.dispatchEvent = page.dispatchEvent.bind(page);
  timers.clear();
}

// Lets the awaited fetches and what follows their answers run.
async function settle() {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

// Moves the clock on by ms, running the timers that fall due, one at a time, each to its end.
async function tick(ms) {
  const until = clock + ms;
  await settle();
  for (;;) {
    const [id, due] = [...timers].sort((a, b) => a[1].at - b[1].at)[0] || [];
    if (!due || due.at > until) break;
    timers.delete(id);
    clock = due.at;
    due.run();
    await settle();
  }
  clock = until;
}

const queued = () => JSON.parse(storage.get(KEY) ?? '[]');
const sent = () => requests.map(({ url, options }) => [url.slice(BASE.length), JSON.parse(options.body)]);
const decision = (id, action = 'accept_all') => ({ consent_id: id, token: `token-${id}`, action });

test('a request is kept in localStorage and posted at once, as JSON without cookies', async () => {
  let reply;
  answer = () => new Promise((resolve) => (reply = resolve));
  transport(BASE).send('/consents', decision('a'), 'a');
  assert.deepEqual(
    queued().map(({ path, body, id }) => ({ path, body, id })),
    [{ path: '/consents', body: decision('a'), id: 'a' }],
  );
  assert.equal(requests.length, 1);
  const [{ url, options }] = requests;
  assert.equal(url, `${BASE}/consents`);
  assert.equal(options.method, 'POST');
  assert.deepEqual(options.headers, { 'Content-Type': 'application/json' });
  assert.deepEqual(JSON.parse(options.body), decision('a'));
  assert.equal(options.credentials, 'omit');
  assert.equal(options.keepalive, true);

  await settle();
  assert.equal(queued().length, 1); // kept until the server answers
  reply(201);
  await settle();
  assert.equal(storage.has(KEY), false);
});

test('requests leave one at a time, in the order they were made', async () => {
  answer = () => 'offline';
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  server.send('/consents', decision('a', 'custom'), 'a');
  server.send('/consents/b/token', { token: 'token-b' }, 'b');
  await settle();
  requests = [];
  answer = () => 201;
  page.dispatchEvent(new Event('online'));
  await settle();
  assert.deepEqual(sent(), [
    ['/consents', decision('a')],
    ['/consents', decision('a', 'custom')],
    ['/consents/b/token', { token: 'token-b' }],
  ]);
  assert.equal(storage.has(KEY), false);
});

test('while a request is on its way nothing is sent twice: the next waits, and so does page hide', async () => {
  const replies = [];
  answer = () => new Promise((resolve) => replies.push(resolve));
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  server.send('/consents', decision('b'), 'b');
  page.dispatchEvent(new Event('online'));
  page.dispatchEvent(new Event('pagehide')); // the request on its way has keepalive already
  await settle();
  assert.deepEqual(sent(), [['/consents', decision('a')]]);
  replies.shift()(201);
  await settle();
  assert.deepEqual(sent(), [
    ['/consents', decision('a')],
    ['/consents', decision('b')],
  ]);
  replies.shift()(201);
  await settle();
  assert.equal(storage.has(KEY), false);
});

test('no answer, a server error or throttling: tried again later, a minute apart at most', async () => {
  const failures = ['offline', 503, 429, 500, 'offline', 502, 'offline', 'offline', 503];
  answer = () => failures.shift() ?? 201;
  transport(BASE).send('/consents', decision('a'), 'a');
  await settle();
  const waits = [];
  let last = 0;
  for (let second = 0; second < 600 && requests.length < 10; second++) {
    const before = requests.length;
    await tick(1000);
    if (requests.length > before) [waits[waits.length], last] = [clock - last, clock];
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(storage.has(KEY), false); // the tenth try was answered
  await tick(600_000);
  assert.equal(requests.length, 10);
});

test('after an answer the next failure waits a second again', async () => {
  const outcomes = ['offline', 'offline', 201, 'offline', 201];
  answer = () => outcomes.shift();
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  await tick(3000); // failed at 0 s and 1 s, answered at 3 s
  assert.equal(requests.length, 3);
  server.send('/consents', decision('b'), 'b'); // fails at once
  await settle();
  await tick(999);
  assert.equal(requests.length, 4);
  await tick(1);
  assert.equal(requests.length, 5);
  assert.equal(storage.has(KEY), false);
});

test('any other answer is final: the request is dropped, not retried', async () => {
  for (const status of [200, 400, 403, 404, 410]) {
    storage.clear();
    requests = [];
    answer = () => status;
    transport(BASE).send('/consents', decision('a'), 'a');
    await settle();
    assert.equal(storage.has(KEY), false, `after ${status}`);
    await tick(120_000);
    assert.equal(requests.length, 1, `after ${status}`);
  }
});

test('a page opened later sends what an earlier one could not, a second after it opens', async () => {
  answer = () => 'offline';
  transport(BASE).send('/consents', decision('a', 'reject_all'), 'a');
  await settle();
  assert.equal(queued().length, 1);

  newPage();
  requests = [];
  answer = () => 201;
  transport(BASE);
  await settle();
  assert.equal(requests.length, 0); // reading localStorage can be slow: not before the banner shows
  await tick(1000);
  assert.deepEqual(sent(), [['/consents', decision('a', 'reject_all')]]);
  assert.equal(storage.has(KEY), false);
});

test('"forget" drops the requests of that visitor still waiting, and no one else\'s', async () => {
  answer = () => 'offline';
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  server.send('/consents', decision('b'), 'b');
  server.send('/consents/a/token', { token: 'token-a' }, 'a');
  server.send('/consents/a/forget', { token: 'token-a' }, 'a');
  await settle();
  assert.deepEqual(
    queued().map(({ path, id }) => [path, id]),
    [
      ['/consents', 'b'],
      ['/consents/a/forget', 'a'],
    ],
  );
});

test('the queue keeps the 20 newest requests', async () => {
  answer = () => 'offline';
  const server = transport(BASE);
  for (let i = 1; i <= 25; i++) server.send('/consents', decision(`v${i}`), `v${i}`);
  await settle();
  const ids = queued().map((item) => item.id);
  assert.equal(ids.length, 20);
  assert.deepEqual([ids[0], ids[19]], ['v6', 'v25']);
});

test("a refused visitor token says so with the consent id, and that request is dropped", async () => {
  const refused = [];
  answer = ({ options }) =>
    JSON.parse(options.body).token === 'stolen'
      ? { status: 403, body: { error: { code: 'visitor_token_refused' } } }
      : { status: 403, body: { error: { code: 'forbidden_origin' } } };
  page.addEventListener('cmp:refused', (event) => refused.push(event.detail));
  const server = transport(BASE);
  server.send('/consents', { ...decision('a'), token: 'stolen' }, 'a');
  server.send('/consents', decision('b'), 'b');
  await settle();
  assert.deepEqual(refused, ['a']);
  assert.equal(storage.has(KEY), false);
});

test('when the page goes away, what waits leaves with keepalive', async () => {
  answer = () => 'offline';
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  server.send('/consents', decision('b'), 'b');
  await settle();
  requests = [];
  page.dispatchEvent(new Event('pagehide'));
  await settle();
  assert.deepEqual(sent(), [
    ['/consents', decision('a')],
    ['/consents', decision('b')],
  ]);
  assert.ok(requests.every(({ options }) => options.keepalive === true));
  assert.equal(queued().length, 2); // not known to have arrived: the next page sends them again
});

test('an unreadable queue in localStorage is replaced, not fatal', async () => {
  storage.set(KEY, '{not json');
  transport(BASE).send('/consents', decision('a'), 'a');
  await settle();
  assert.deepEqual(sent(), [['/consents', decision('a')]]);
});

test('an impression is posted once as text, without cookies, and never queued or retried', async () => {
  answer = () => 'offline';
  transport(BASE).impression('de');
  await settle();
  assert.equal(requests.length, 1);
  const [{ url, options }] = requests;
  assert.equal(url, `${BASE}/impressions`);
  assert.deepEqual(JSON.parse(options.body), { language: 'de' });
  assert.equal(options.headers, undefined); // text/plain: no CORS preflight
  assert.equal(options.mode, 'no-cors');
  assert.equal(options.credentials, 'omit');
  assert.equal(options.keepalive, true);
  assert.equal(storage.has(KEY), false);
  await tick(120_000);
  assert.equal(requests.length, 1);
});

test('without localStorage (a sandboxed frame) the queue lives in memory: sent, and retried', async () => {
  Object.defineProperty(globalThis, 'localStorage', {
    configurable: true,
    get() {
      throw new DOMException('The document is sandboxed and lacks the allow-same-origin flag.', 'SecurityError');
    },
  });
  const outcomes = ['offline', 201];
  answer = () => outcomes.shift();
  const server = transport(BASE);
  server.send('/consents', decision('a'), 'a');
  await settle();
  assert.deepEqual(sent(), [['/consents', decision('a')]]);
  await tick(1000);
  assert.deepEqual(sent(), [
    ['/consents', decision('a')],
    ['/consents', decision('a')],
  ]);
  await tick(120_000);
  assert.equal(requests.length, 2); // answered: no longer queued
});

test('when localStorage is full the new request waits in memory, and is sent', async () => {
  storage.set(KEY, JSON.stringify([]));
  globalThis.localStorage.setItem = () => {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  transport(BASE).send('/consents', decision('a'), 'a');
  await settle();
  assert.deepEqual(sent(), [['/consents', decision('a')]]);
});
