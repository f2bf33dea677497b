// Unit tests of the regime script's GPP API (static/cmp/src/regime/gpp.js): the string it gives
// vendors, decoded with the IAB's own library, for a Californian and a Texan, opted out or not,
// with and without Global Privacy Control; and the statuses vendors wait on.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { GppModel } from '@iabgpp/cmpapi';

import { startGpp } from '../../static/cmp/src/regime/gpp.js';

beforeEach(() => {
  globalThis.window = globalThis;
});

afterEach(() => {
  delete globalThis.__gpp;
  delete globalThis.window;
});

// What a vendor's script asks of window.__gpp, answered at once.
const ask = (command, parameter) =>
  new Promise((resolve) => globalThis.__gpp(command, (data, success) => resolve({ data, success }), parameter));

// The GPP string for a visitor, as the regime script sets it, and what the IAB's decoder reads in it.
async function visitor(region, { optedOut, gpc }) {
  const gpp = startGpp(region);
  gpp.update(optedOut, gpc);
  const { data: ping } = await ask('ping');
  assert.equal(ping.gppString, gpp.string());
  return { ping, model: new GppModel(gpp.string()) };
}

test('a Californian who has not opted out: the usca section, sale and sharing not opted out', async () => {
  const { ping, model } = await visitor('US-CA', { optedOut: false, gpc: false });
  assert.deepEqual(ping.applicableSections, [8]);
  assert.deepEqual(model.getSectionIds(), [8]);
  assert.equal(model.hasSection('usnat'), false);
  const field = (name) => model.getFieldValue('usca', name);
  assert.equal(field('SaleOptOut'), 2);
  assert.equal(field('SharingOptOut'), 2);
  assert.equal(field('SaleOptOutNotice'), 1);
  assert.equal(field('SharingOptOutNotice'), 1);
  assert.equal(field('MspaCoveredTransaction'), 2);
  assert.equal(field('MspaOptOutOptionMode'), 0);
  assert.equal(field('MspaServiceProviderMode'), 0);
  assert.equal(field('Gpc'), false);
});

test('a Californian who opted out: sale and sharing opted out', async () => {
  const { ping, model } = await visitor('US-CA', { optedOut: true, gpc: false });
  assert.deepEqual(ping.applicableSections, [8]);
  assert.deepEqual(model.getSectionIds(), [8]);
  assert.equal(model.getFieldValue('usca', 'SaleOptOut'), 1);
  assert.equal(model.getFieldValue('usca', 'SharingOptOut'), 1);
  assert.equal(model.getFieldValue('usca', 'Gpc'), false);
});

test('a Texan opted out by Global Privacy Control: the usnat section, targeted advertising too', async () => {
  const { ping, model } = await visitor('US-TX', { optedOut: true, gpc: true });
  assert.deepEqual(ping.applicableSections, [7]);
  assert.deepEqual(model.getSectionIds(), [7]);
  assert.equal(model.hasSection('usca'), false);
  const field = (name) => model.getFieldValue('usnat', name);
  assert.equal(field('SaleOptOut'), 1);
  assert.equal(field('SharingOptOut'), 1);
  assert.equal(field('TargetedAdvertisingOptOut'), 1);
  for (const notice of ['SaleOptOutNotice', 'SharingOptOutNotice', 'SharingNotice', 'TargetedAdvertisingOptOutNotice'])
    assert.equal(field(notice), 1, notice);
  assert.equal(field('MspaCoveredTransaction'), 2);
  assert.equal(field('Gpc'), true);
});

test('every other US region, or none known, gets usnat; not opted out says 2 throughout', async () => {
  for (const region of ['US-NY', undefined]) {
    const { ping, model } = await visitor(region, { optedOut: false, gpc: false });
    assert.deepEqual(ping.applicableSections, [7]);
    for (const name of ['SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut'])
      assert.equal(model.getFieldValue('usnat', name), 2, name);
    delete globalThis.__gpp;
  }
});

test('the string follows each decision, and vendors are told of it', async () => {
  const gpp = startGpp('US-CA');
  gpp.update(false, false);
  const events = [];
  globalThis.__gpp('addEventListener', ({ eventName, data }) => events.push([eventName, data]));
  gpp.update(true, false);
  assert.equal(new GppModel(gpp.string()).getFieldValue('usca', 'SaleOptOut'), 1);
  assert.deepEqual(events.slice(1), [
    ['signalStatus', 'not ready'],
    ['sectionChange', 'usca'],
    ['signalStatus', 'ready'],
  ]);
});

test('while the dialog shows, the signal is not ready; it is ready again once it closes', async () => {
  const gpp = startGpp('US-CA');
  gpp.update(false, false);
  const status = async () => {
    const { data } = await ask('ping');
    return [data.cmpStatus, data.cmpDisplayStatus, data.signalStatus];
  };
  assert.deepEqual(await status(), ['loaded', 'hidden', 'ready']);
  gpp.display(true);
  assert.deepEqual(await status(), ['loaded', 'visible', 'not ready']);
  gpp.update(true, false);
  assert.deepEqual(await status(), ['loaded', 'visible', 'not ready']);
  gpp.display(false);
  assert.deepEqual(await status(), ['loaded', 'hidden', 'ready']);
});

test('the CMP id is 0 unless the site has a registered one', async () => {
  startGpp('US-CA');
  assert.equal((await ask('ping')).data.cmpId, 0);
  delete globalThis.__gpp;
  startGpp('US-CA', 300);
  assert.equal((await ask('ping')).data.cmpId, 300);
});

test("an IAB stub's queued calls are answered once the section is set; its listeners hear every event", async () => {
  const queue = [];
  const heard = [];
  const events = [{ id: 1, callback: ({ eventName, data }) => heard.push([eventName, data]) }];
  const answered = new Promise((resolve) => queue.push(['ping', (data) => resolve(data)]));
  // What the stub answers CmpApi: its queue, or its listeners.
  globalThis.__gpp = (...args) => (args.length ? (args[0] === 'events' ? events : queue.push(args)) : queue);
  startGpp('US-TX').update(false, false);
  const ping = await answered;
  assert.deepEqual(ping.applicableSections, [7]);
  assert.equal(new GppModel(ping.gppString).getFieldValue('usnat', 'SaleOptOut'), 2);
  assert.deepEqual(heard.at(-1), ['signalStatus', 'ready']);
});
