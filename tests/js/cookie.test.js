// Unit tests of the widget's cookie module with Node's own test runner: `node --test tests/js/`.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { deleteCookies, matchesPattern } from '../../static/cmp/src/cookie.js';

test('a pattern without a star matches only that name', () => {
  assert.equal(matchesPattern('_gid', '_gid'), true);
  assert.equal(matchesPattern('_gid_x', '_gid'), false);
  assert.equal(matchesPattern('x_gid', '_gid'), false);
});

test('a star matches any run of characters, the empty one too', () => {
  const cases = [
    ['_ga', '_ga*', true],
    ['_ga_ABC123', '_ga*', true],
    ['_ga_ABC123', '_ga_*', true],
    ['x_ga', '_ga*', false],
    ['_fbp', '*', true],
    ['', '*', true],
    ['abc', 'a*c', true],
    ['ac', 'a*c', true],
    ['ab', 'a*c', false],
    ['aXbYc', 'a*b*c', true],
    ['acb', 'a*b*c', false],
    ['abab', 'a*ab', true],
    ['aab', 'a*ab', true],
    ['ab', 'a*ab', false],
    ['__utma', '__utm*', true],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
    ['(x)', '(*)', true],
    ['ab', 'a**b', true],
  ];
  for (const [name, pattern, expected] of cases) {
    assert.equal(matchesPattern(name, pattern), expected, `${name} ~ ${pattern}`);
  }
});

// A regular expression built from `a*a*...*b` backtracked for 16 s on a 40-character name; the
// matcher walks the name once. Node's runner fails the test if it runs past its timeout.
test('many stars on a long name that does not match', { timeout: 10_000 }, () => {
  const pattern = `${'a*'.repeat(40)}b`;
  assert.equal(matchesPattern('a'.repeat(5000), pattern), false);
  assert.equal(matchesPattern(`${'a'.repeat(5000)}b`, pattern), true);
});

// The page's document.cookie and location, stubbed: what the page sees, and every cookie it writes.
function page(url, cookies) {
  const written = [];
  const { hostname, pathname, protocol } = new URL(url);
  globalThis.location = { hostname, pathname, protocol };
  globalThis.document = {
    get cookie() {
      return cookies;
    },
    set cookie(value) {
      written.push(value);
    },
  };
  return written;
}

afterEach(() => {
  delete globalThis.document;
  delete globalThis.location;
});

test('a withdrawn cookie is expired host-only and on every parent domain, on every path down to the page', () => {
  const written = page('https://a.b.shop.example/a/b/c', '_ga=1; _ga_X1=2; session=3; cmp_consent=4');
  deleteCookies(['_ga', '_ga_*']);
  const expired = (name) => new Set(written.filter((cookie) => cookie.startsWith(`${name}=;`)));
  const expected = new Set();
  for (const path of ['/', '/a', '/a/b', '/a/b/c'])
    for (const domain of ['', ';domain=.a.b.shop.example', ';domain=.b.shop.example', ';domain=.shop.example'])
      expected.add(`_ga=;path=${path};max-age=0${domain}`);
  assert.deepEqual(expired('_ga'), expected);
  assert.equal(expired('_ga_X1').size, 16);
  assert.equal(written.length, 32); // session and the decision itself are kept
  assert.ok(written.every((cookie) => !cookie.includes('domain=.example')));
});

test('on the site root the one path is /', () => {
  const written = page('https://shop.example/', '_fbp=1');
  deleteCookies(['_fbp']);
  const expected = ['_fbp=;path=/;max-age=0', '_fbp=;path=/;max-age=0;domain=.shop.example'];
  assert.deepEqual(new Set(written), new Set(expected));
});

test('a __Secure- or __Host- cookie is expired as Secure, or the browser would refuse it', () => {
  const written = page('https://shop.example/', '__Secure-track=1; __Host-id=2; _plain=3');
  deleteCookies(['__Secure-track', '__Host-id', '_plain']);
  assert.ok(written.includes('__Host-id=;path=/;max-age=0;secure'), 'host-only on / as Secure');
  assert.ok(written.includes('__Secure-track=;path=/;max-age=0;secure;domain=.shop.example'));
  assert.ok(written.filter((cookie) => cookie.startsWith('_plain=')).every((cookie) => !cookie.includes('secure')));
});
