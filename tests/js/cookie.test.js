// Unit tests of the widget's cookie module with Node's own test runner: `node --test tests/js/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { matchesPattern } from '../../static/cmp/src/cookie.js';

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
