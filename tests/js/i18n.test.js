// Unit tests of the widget's language choice (static/cmp/src/i18n.js): the page's lang, then the
// browser's languages, then the site's default. The page and the browser are stubbed.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { pickLanguage } from '../../static/cmp/src/i18n.js';

const site = (...languages) => ({
  language: languages[0],
  texts: Object.fromEntries(languages.map((code) => [code, {}])),
});

function visit(pageLang, browserLanguages = []) {
  globalThis.document = { documentElement: { lang: pageLang } };
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { languages: browserLanguages, language: browserLanguages[0] },
  });
}

afterEach(() => {
  delete globalThis.document;
  delete globalThis.navigator;
});

test("the page's language first, then its base language", () => {
  visit('de-AT', ['fr']);
  assert.equal(pickLanguage(site('en', 'de', 'fr')), 'de');
  visit('DE', ['fr']);
  assert.equal(pickLanguage(site('en', 'de', 'fr')), 'de');
});

test("then the browser's languages in its order, then the site's default", () => {
  visit('', ['it-IT', 'fr-CH', 'de']);
  assert.equal(pickLanguage(site('en', 'de', 'fr')), 'fr');
  visit('ja', ['zh-CN']);
  assert.equal(pickLanguage(site('en', 'de')), 'en');
});

test('Norwegian Bokmål and Nynorsk read the Norwegian texts', () => {
  for (const tag of ['nb', 'nn', 'nb-NO', 'NN-no', 'no', 'no-NO']) {
    visit(tag);
    assert.equal(pickLanguage(site('en', 'no')), 'no', tag);
  }
  visit('', ['nb-NO', 'en']);
  assert.equal(pickLanguage(site('en', 'no')), 'no');
});

test('a site that has nb or nn itself keeps them, and no other language becomes Norwegian', () => {
  visit('nn');
  assert.equal(pickLanguage(site('en', 'nn', 'no')), 'nn');
  visit('nb-NO');
  assert.equal(pickLanguage(site('en', 'nb', 'no')), 'nb');
  visit('sv', ['da']);
  assert.equal(pickLanguage(site('en', 'no')), 'en');
  visit('nb');
  assert.equal(pickLanguage(site('en', 'de')), 'en');
});
