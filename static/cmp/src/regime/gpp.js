// The IAB's Global Privacy Platform under the opt-out regime: window.__gpp, as the IAB's CmpApi
// implements it, with one section: California's own (usca) for a visitor from US-CA, the national
// one (usnat) for the other states. It says that the visitor was told of the sale and sharing of
// their data and whether they opted out of it (marketing refused), and whether their browser sends
// Global Privacy Control. The fields: node_modules/@iabgpp/cmpapi/README.md.
import { CmpApi } from '@iabgpp/cmpapi';

// The id the IAB gives a registered CMP. This one has none yet: 0, which vendors read as an
// unregistered CMP; a site running it under a registered id sets that id in its config (gppCmpId).
const UNREGISTERED = 0;
// This CMP's version as the API reports it: raise it when what the section says changes.
const CMP_VERSION = 1;
// The sections' answers: 1 yes, 2 no (0 is "not applicable").
const YES = 1;
const NO = 2;

/**
 * The section for a visitor's region: its name and id.
 * @param {string} [region] e.g. US-CA, US-TX.
 * @returns {['usca', 8] | ['usnat', 7]}
 */
export const sectionOf = (region) => (region === 'US-CA' ? ['usca', 8] : ['usnat', 7]);

/**
 * What the section says.
 * @param {'usca' | 'usnat'} name
 * @param {boolean} optedOut The visitor refuses the sale and sharing of their data (marketing).
 * @param {boolean} gpc Their browser sends Global Privacy Control.
 */
export function sectionFields(name, optedOut, gpc) {
  const national = name === 'usnat';
  const optOut = optedOut ? YES : NO;
  return {
    // The dialog tells of the sale, the sharing and the targeted advertising, and offers to opt out.
    SaleOptOutNotice: YES,
    SharingOptOutNotice: YES,
    ...(national && { SharingNotice: YES, TargetedAdvertisingOptOutNotice: YES }),
    SaleOptOut: optOut,
    SharingOptOut: optOut,
    ...(national && { TargetedAdvertisingOptOut: optOut }),
    // No transaction covered by the IAB's Multi-State Privacy Agreement, so none of its modes.
    MspaCoveredTransaction: NO,
    MspaOptOutOptionMode: 0,
    MspaServiceProviderMode: 0,
    Gpc: gpc,
  };
}

/**
 * Sets up window.__gpp for a visitor from `region`; its section says nothing until the first update.
 * @param {string} [region]
 * @param {number} [cmpId]
 */
export function startGpp(region, cmpId = UNREGISTERED) {
  // An IAB stub on the page queued vendors' listeners and calls: the listeners go to CmpApi now, the
  // calls wait for the first update (CmpApi would answer them at once, with nothing to say).
  const stub = window.__gpp || (() => []);
  const queued = [...(stub() || [])];
  window.__gpp = (command) => (command === 'events' ? stub('events') : []);
  const api = new CmpApi(cmpId, CMP_VERSION);
  const [name, id] = sectionOf(region);
  api.setSupportedAPIs([`${id}:${name}`]);
  api.setApplicableSections([id]);
  api.setCmpStatus('loaded');
  // Vendors wait while the signal is "not ready": while the dialog shows (the visitor may change
  // their choice) and while the section changes.
  let showing = false;
  const signal = (status) => api.getSignalStatus() !== status && api.setSignalStatus(status);
  return {
    /**
     * The visitor's choice, as it stands.
     * @param {boolean} optedOut
     * @param {boolean} gpc
     */
    update(optedOut, gpc) {
      signal('not ready');
      for (const [field, value] of Object.entries(sectionFields(name, optedOut, gpc)))
        api.setFieldValue(name, field, value);
      api.fireSectionChange(name);
      if (!showing) signal('ready');
      for (const call of queued.splice(0)) window.__gpp(...call);
    },
    /**
     * The dialog opened, or closed.
     * @param {boolean} shown
     */
    display(shown) {
      showing = shown;
      if (shown) signal('not ready');
      api.setCmpDisplayStatus(shown ? 'visible' : 'hidden');
      if (!shown) signal('ready');
    },
    /** The GPP string, as vendors get it. */
    string: () => api.getGppString(),
  };
}
