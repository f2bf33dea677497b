// The opt-out and notice regimes' script (static/cmp/regime.js), which the widget loads for the
// visitors under them instead of showing its banner (static/cmp/src/main.js, loadRegime): their UI
// and, under opt-out, the IAB's Global Privacy Platform API. It takes over CMP.showPreferences().
import { gpc } from '../signals.js';
import { startGpp } from './gpp.js';
import { config, host } from './host.js';
import { buildNotice } from './notice.js';
import { buildOptOut, optedOut } from './opt-out.js';
import { buildRoot } from './ui.js';

const optOut = config.regime === 'opt_out';
// Under opt-out the GPP API answers at once, before the page has a body, and follows every decision.
const gpp = optOut && startGpp(config.region, config.gppCmpId);
let ui;
if (gpp) {
  const update = () => gpp.update(optedOut(), gpc());
  update();
  window.CMP.onChange(() => {
    update();
    ui?.refresh();
  });
}

function start() {
  const root = buildRoot();
  if (optOut) ui = buildOptOut(root, gpp.display);
  window.CMP.showPreferences = optOut ? ui.open : buildNotice(root);
  if (host.asked) window.CMP.showPreferences();
}

if (document.body) start();
else document.addEventListener('DOMContentLoaded', start);
