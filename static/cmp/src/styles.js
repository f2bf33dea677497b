// The UI's stylesheet: adopted by the shadow root of the banner, the dialog and the floating button,
// and by the document of each blocked embed's placeholder. No inline styles, so a strict CSP allows
// it. Colours meet WCAG AA in the light and the dark theme; the text on the site's colour is the one
// the server chose for contrast (consent.services.colours).
import { config } from './config.js';

const HEX = /^#[0-9a-f]{6}$/i;
const accent = HEX.test(config.theme?.colour) ? config.theme.colour : '#1d4ed8';
const onAccent = HEX.test(config.theme?.text) ? config.theme.text : '#fff';

const CSS = `
:host{all:initial!important}
:host,:root{--background:#fff;--text:#1f2937;--muted:#4b5563;--border:#d1d5db;--accent:${accent};--on-accent:${onAccent}}
@media (prefers-color-scheme:dark){:host,:root{--background:#1f2937;--text:#f9fafb;--muted:#d1d5db;--border:#6b7280}}
*{box-sizing:border-box}
[hidden]{display:none!important}
.banner,dialog,.float,body{background:var(--background);color:var(--text);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
.banner{position:fixed;z-index:2147483647;left:0;right:0;bottom:0;padding:16px 20px;border-top:1px solid var(--border);box-shadow:0 -4px 16px #0003;max-height:85vh;overflow:auto}
.banner:focus{outline:0}
.top{top:0;bottom:auto;border:0;border-bottom:1px solid var(--border)}
.center{left:50%;right:auto;bottom:50%;transform:translate(-50%,50%);width:min(560px,calc(100% - 24px));border:1px solid var(--border);border-radius:12px}
.layout{max-width:1120px;margin:auto;display:flex;flex-wrap:wrap;gap:12px 32px;align-items:center}
.text{flex:1 1 400px}
h2{font-size:1.15em;margin:0 0 4px}
p{margin:0 0 8px}
a{color:inherit}
.muted,summary,ul{color:var(--muted);font-size:.9em}
.actions{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;flex:1 1 420px}
button{font:inherit;font-weight:600;cursor:pointer;min-height:44px;padding:8px 14px;border-radius:8px;border:2px solid var(--accent);background:var(--accent);color:var(--on-accent)}
.secondary{background:none;color:var(--text);border-color:var(--text)}
.link,.close{min-height:0;padding:0;border:0;background:none;color:inherit;font-weight:400;text-decoration:underline}
.close{font-size:1.6em;line-height:1;padding:0 6px;text-decoration:none}
:focus-visible{outline:3px solid var(--text);outline-offset:2px}
.float{position:fixed;z-index:2147483647;bottom:12px;left:12px;border:1px solid var(--muted);border-radius:16px;box-shadow:0 2px 8px #0004}
.float,body{font-size:13px}
.float,body button{min-height:32px;padding:4px 12px}
.float:focus-visible{box-shadow:0 0 0 8px var(--background)}
.right{left:auto;right:12px}
dialog{border:1px solid var(--border);border-radius:12px;padding:20px;width:min(600px,calc(100% - 24px));max-height:calc(100% - 24px)}
dialog::backdrop{background:#0009}
dialog .actions{margin:12px 0}
.header{display:flex;justify-content:space-between;align-items:start}
.category{padding:10px 0;border-top:1px solid var(--border)}
.category p{margin:0}
summary{cursor:pointer}
ul{margin:4px 0;padding-left:20px}
label{display:flex;align-items:center;gap:12px;font-weight:600;cursor:pointer}
label span{flex:1}
input{appearance:none;flex:none;width:44px;height:24px;margin:0;border-radius:12px;background:var(--muted);position:relative;cursor:pointer}
input:before{content:"";position:absolute;top:3px;left:3px;width:18px;height:18px;border-radius:50%;background:var(--background)}
input:checked{background:var(--accent)}
input:checked:before{left:23px}
input:disabled{cursor:default}
.links{display:flex;flex-wrap:wrap;gap:8px 20px;margin:0}
body{margin:0;min-height:100vh;padding:8px;display:grid;place-content:center;gap:8px;line-height:1.3;text-align:center}
body p{margin:0}
@media (max-width:600px){.actions{grid-template-columns:1fr 1fr}.actions .secondary,.save{grid-column:span 2}.banner{padding:14px}}
@media (prefers-reduced-motion:no-preference){.bottom{animation:slide-in .2s ease-out}input:before{transition:left .15s}}
@keyframes slide-in{from{translate:0 100%}}`;

/** The stylesheet, made for a window's document (the page's, or a placeholder frame's). */
export function stylesheet(view = window) {
  const sheet = new view.CSSStyleSheet();
  sheet.replaceSync(CSS);
  return sheet;
}
