// The UI's stylesheet, adopted by its shadow root: no inline styles, so a strict CSP allows it.
// Colours meet WCAG AA in the light and the dark theme; the text on the site's colour is the one
// the server chose for contrast (consent.services.colours).
const HEX = /^#[0-9a-f]{6}$/i;

export function stylesheet(colour, text) {
  const c = HEX.test(colour) ? colour : '#1d4ed8';
  const on = HEX.test(text) ? text : '#fff';
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
:host{all:initial!important;--bg:#fff;--fg:#1f2937;--mu:#4b5563;--bd:#d1d5db;--c:${c};--on:${on}}
@media (prefers-color-scheme:dark){:host{--bg:#1f2937;--fg:#f9fafb;--mu:#d1d5db;--bd:#6b7280}}
*{box-sizing:border-box}
[hidden]{display:none!important}
.b,dialog{background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
.b{position:fixed;z-index:2147483647;left:0;right:0;bottom:0;padding:16px 20px;border-top:1px solid var(--bd);box-shadow:0 -4px 16px #0003;max-height:85vh;overflow:auto}
.b:focus{outline:0}
.top{top:0;bottom:auto;border:0;border-bottom:1px solid var(--bd)}
.center{left:50%;right:auto;bottom:50%;transform:translate(-50%,50%);width:min(560px,calc(100% - 24px));border:1px solid var(--bd);border-radius:12px}
.i{max-width:1120px;margin:auto;display:flex;flex-wrap:wrap;gap:12px 32px;align-items:center}
.t{flex:1 1 400px}
h2{font-size:1.15em;margin:0 0 4px}
p{margin:0 0 8px}
a{color:inherit}
.s{color:var(--mu);font-size:.9em}
.k{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;flex:1 1 420px}
button{font:inherit;font-weight:600;cursor:pointer;min-height:44px;padding:8px 14px;border-radius:8px;border:2px solid var(--c);background:var(--c);color:var(--on)}
.o{background:none;color:var(--fg);border-color:var(--fg)}
.l,.x{min-height:0;padding:0;border:0;background:none;color:inherit;font-weight:400;text-decoration:underline}
.x{font-size:1.6em;line-height:1;padding:0 6px;text-decoration:none}
:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
dialog{border:1px solid var(--bd);border-radius:12px;padding:20px;width:min(600px,calc(100% - 24px));max-height:calc(100% - 24px)}
dialog::backdrop{background:#0009}
dialog .k{margin:12px 0}
.h{display:flex;justify-content:space-between;align-items:start}
.g{padding:10px 0;border-top:1px solid var(--bd)}
.g p{margin:0}
label{display:flex;align-items:center;gap:12px;font-weight:600;cursor:pointer}
label span{flex:1}
input{appearance:none;flex:none;width:44px;height:24px;margin:0;border-radius:12px;background:var(--mu);position:relative;cursor:pointer}
input:before{content:"";position:absolute;top:3px;left:3px;width:18px;height:18px;border-radius:50%;background:var(--bg)}
input:checked{background:var(--c)}
input:checked:before{left:23px}
input:disabled{cursor:default}
.m{display:flex;flex-wrap:wrap;gap:8px 20px;margin:0}
@media (max-width:600px){.k{grid-template-columns:1fr 1fr}.o,.w{grid-column:span 2}.b{padding:14px}}
@media (prefers-reduced-motion:no-preference){.bottom{animation:u .2s ease-out}input:before{transition:left .15s}}
@keyframes u{from{translate:0 100%}}`);
  return sheet;
}
