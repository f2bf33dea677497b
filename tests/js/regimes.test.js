// Unit tests of the widget's regimes (static/cmp/src/main.js, consent.js): what each allows before
// the visitor decides, what Consent Mode hears, Global Privacy Control as an opt-out, and the
// regime's script. The widget is built as it ships, with the config in place of __CMP_CONFIG__, and
// started once per page on stubbed browser globals, as few as it needs.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { buildSync } from 'esbuild';

const [{ text: WIDGET }] = buildSync({
  entryPoints: [new URL('../../static/cmp/src/main.js', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  write: false,
  define: { __CMP_CONFIG__: 'globalThis.siteConfig' },
}).outputFiles;

const CATEGORIES = ['authentication', 'preferences', 'analytics', 'marketing'];
const SITE = {
  site: 'site-key',
  api: 'https://cmp.example',
  policy: { version: 1, required: 1, url: '', updated: '' },
  lifetimeDays: 365,
  language: 'en',
  categories: CATEGORIES.map((key) => ({ key, required: key === 'authentication', cookies: [] })),
  texts: { en: { categories: {} } },
  shown: { en: 'digest' },
  theme: { settingsButton: 'left' },
};
const REGIME_SCRIPT = 'https://cmp.example/cmp/regime.js?v=1';
// What a page defines, and what the widget sets on it: none of it outlives the page.
const stubs = ['window', 'document', 'navigator', 'location', 'localStorage', 'fetch', 'MutationObserver'];
const set = ['siteConfig', 'CMP', 'dataLayer', 'cmpConsentDefault', 'cmpConsentSaid'];
const real = { setTimeout, addEventListener: globalThis.addEventListener, dispatchEvent: globalThis.dispatchEvent };

function closePage() {
  for (const name of [...stubs, ...set]) delete globalThis[name];
  Object.assign(globalThis, real);
}

let pages = 0;
let page; // what the stubbed page saw: cookies written, scripts appended, reloads, requests

/**
 * Opens a page with the widget on it.
 * @param {object} site The config, over SITE.
 * @param {{gpc?: boolean, stored?: object}} visitor Whether the browser sends GPC; its stored decision.
 */
async function open(site, { gpc = false, stored } = {}) {
  closePage();
  page = { cookies: [], head: [], reloads: 0, requests: [] };
  const cookie = stored ? `cmp_consent=${encodeURIComponent(JSON.stringify(stored))}` : '';
  const events = new EventTarget();
  Object.assign(globalThis, {
    window: globalThis,
    siteConfig: { ...SITE, ...site },
    document: {
      documentElement: { lang: 'en' },
      get cookie() {
        return cookie;
      },
      set cookie(value) {
        page.cookies.push(value);
      },
      querySelectorAll: () => [],
      // An element as elements.js's h() makes it: its attributes become its properties here.
      createElement: (tag) => ({
        tag,
        setAttribute(name, value) {
          this[name] = value;
        },
        addEventListener() {},
        append() {},
      }),
      head: { append: (...elements) => page.head.push(...elements) },
      addEventListener() {},
    },
    location: {
      origin: 'https://shop.example',
      pathname: '/',
      hostname: 'shop.example',
      protocol: 'https:',
      reload: () => page.reloads++,
    },
    localStorage: {
      items: new Map(),
      getItem(key) {
        return this.items.get(key) ?? null;
      },
      setItem(key, value) {
        this.items.set(key, value);
      },
      removeItem(key) {
        this.items.delete(key);
      },
    },
    fetch: async (url, options) => {
      page.requests.push({ url, body: JSON.parse(options.body || 'null') });
      return { status: 201 };
    },
    MutationObserver: class {
      observe() {}
    },
    addEventListener: events.addEventListener.bind(events),
    dispatchEvent: events.dispatchEvent.bind(events),
    setTimeout: () => 0,
  });
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { languages: ['en'], globalPrivacyControl: gpc },
  });
  // Each import of a new URL is a new page: the widget's module state starts afresh.
  await import(`data:text/javascript,${encodeURIComponent(WIDGET)}//${++pages}`);
  return globalThis.CMP;
}

afterEach(closePage);

const allowed = (CMP) => Object.fromEntries(CATEGORIES.map((key) => [key, CMP.isAllowed(key)]));
const everything = Object.fromEntries(CATEGORIES.map((key) => [key, true]));
const onlyRequired = Object.fromEntries(CATEGORIES.map((key) => [key, key === 'authentication']));
// Consent Mode's commands in the dataLayer, without the events.
const consentMode = () => globalThis.dataLayer.filter((entry) => !entry.event).map((entry) => [...entry]);
const recorded = () => page.requests.filter(({ url }) => url.endsWith('/consents')).map(({ body }) => body);

function decision(categories) {
  const t = Math.floor(Date.now() / 1000);
  return { v: 1, id: 'id-1', tk: 'token-1', pv: 1, t, exp: t + 86400, src: 'banner', c: categories };
}

test('without a regime, or under opt_in, only the required categories run before a decision', async () => {
  for (const regime of [undefined, 'opt_in']) {
    const CMP = await open({ regime });
    assert.equal(CMP.regime, 'opt_in');
    assert.deepEqual(allowed(CMP), onlyRequired);
    assert.deepEqual(page.head, [], 'no regime script');
  }
});

test('opt_out and notice allow everything until the visitor decides, and load the regime script', async () => {
  for (const regime of ['opt_out', 'notice']) {
    const CMP = await open({ regime, region: 'US-CA', regimeScript: REGIME_SCRIPT });
    assert.equal(CMP.regime, regime);
    assert.deepEqual(allowed(CMP), everything, regime);
    assert.equal(CMP.getConsent(), null);
    assert.deepEqual(recorded(), [], 'nothing recorded');
    assert.ok(!page.requests.some(({ url }) => url.endsWith('/impressions')), 'no banner impression');
    const [script] = page.head;
    assert.equal(page.head.length, 1);
    assert.equal(script.tag, 'script');
    assert.equal(script.src, REGIME_SCRIPT);
    assert.equal(script.host.config.site, 'site-key');
    assert.equal(script.host.language, 'en');
    assert.equal(typeof script.host.decide, 'function');
    assert.ok(!Object.keys(CMP).some((key) => key.startsWith('_')), 'nothing of it in CMP');
  }
});

test('under opt_out, Global Privacy Control is the visitor opting out, recorded at once', async () => {
  const CMP = await open({ regime: 'opt_out', region: 'US-TX', regimeScript: REGIME_SCRIPT }, { gpc: true });
  assert.deepEqual(allowed(CMP), { ...everything, marketing: false });
  assert.equal(CMP.getConsent().source, 'gpc');
  assert.equal((await CMP.ready).source, 'gpc');
  const [record] = recorded();
  assert.deepEqual(record.categories, { ...everything, marketing: false });
  assert.equal(record.gpc, true);
  assert.equal(record.shown, undefined, 'no banner was shown');
  assert.equal(page.reloads, 0);
});

test('under notice, Global Privacy Control refuses marketing without a record', async () => {
  const CMP = await open({ regime: 'notice', regimeScript: REGIME_SCRIPT }, { gpc: true });
  assert.deepEqual(allowed(CMP), { ...everything, marketing: false });
  assert.equal(CMP.getConsent(), null);
  assert.deepEqual(recorded(), []);
});

test('a decision in force counts whatever the regime, and GPC still refuses a stored marketing yes', async () => {
  const stored = decision({ authentication: 1, preferences: 1, analytics: 0, marketing: 1 });
  for (const regime of ['opt_in', 'opt_out', 'notice']) {
    const CMP = await open({ regime, regimeScript: REGIME_SCRIPT }, { stored });
    assert.deepEqual(allowed(CMP), { ...everything, analytics: false }, regime);
    assert.deepEqual(recorded(), []);
  }
  const CMP = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT }, { gpc: true, stored });
  assert.deepEqual(allowed(CMP), { ...everything, analytics: false, marketing: false });
  assert.deepEqual(
    recorded().map(({ source }) => source),
    ['gpc'],
  );
});

test('Consent Mode hears the defaults, then under opt_out and notice what is allowed', async () => {
  const update = (marketing) => ({
    security_storage: 'granted',
    analytics_storage: 'granted',
    ad_storage: marketing,
    ad_user_data: marketing,
    ad_personalization: marketing,
    functionality_storage: 'granted',
    personalization_storage: 'granted',
  });
  for (const regime of ['opt_out', 'notice']) {
    await open({ regime, regimeScript: REGIME_SCRIPT });
    const commands = consentMode();
    assert.deepEqual(
      commands.map((command) => command.slice(0, 2)),
      [
        ['consent', 'default'],
        ['consent', 'update'],
      ],
    );
    assert.deepEqual(commands[1][2], update('granted'));
  }
  await open({ regime: 'notice', regimeScript: REGIME_SCRIPT }, { gpc: true });
  assert.deepEqual(consentMode()[1][2], update('denied'));
  await open({});
  assert.deepEqual(
    consentMode().map((command) => command.slice(0, 2)),
    [['consent', 'default']],
  );
});

test('opting out of what the regime allowed reloads a site that asks for it; GPC at load does not', async () => {
  let CMP = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT, reloadOnWithdrawal: true });
  CMP.setConsent({ marketing: false });
  assert.equal(page.reloads, 1);
  await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT, reloadOnWithdrawal: true }, { gpc: true });
  assert.equal(page.reloads, 0);
  // CMP.setConsent() keeps the categories it does not name as they are: allowed by the regime.
  CMP = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT, reloadOnWithdrawal: true });
  CMP.setConsent({ analytics: true });
  assert.equal(page.reloads, 0, 'nothing withdrawn');
  assert.deepEqual(CMP.getConsent().categories, everything);
});

test('CMP.showPreferences() before the regime script has loaded waits for it', async () => {
  const CMP = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT });
  const [{ host }] = page.head;
  assert.equal(host.asked, undefined);
  CMP.showPreferences();
  assert.equal(host.asked, 1);
});

test('a decision made under opt_out is kept there, and is no consent where opt_in applies', async () => {
  const CMP = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT });
  CMP.setConsent({ marketing: false });
  const written = JSON.parse(decodeURIComponent(page.cookies.at(-1).split(';')[0].split('=')[1]));
  assert.equal(written.r, 1, 'the decision says it was made under another regime');
  const again = await open({ regime: 'opt_out', regimeScript: REGIME_SCRIPT }, { stored: written });
  assert.deepEqual(allowed(again), { ...everything, marketing: false });
  const inEurope = await open({ regime: 'opt_in' }, { stored: written });
  assert.deepEqual(allowed(inEurope), onlyRequired);
  assert.equal(inEurope.getConsent(), null, 'the banner asks');
});
