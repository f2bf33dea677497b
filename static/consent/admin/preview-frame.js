// In the admin's framed banner preview: tell the site form how tall the page and its banner are,
// so that the frame shows the whole banner (static/consent/admin/preview.js). The banner builds
// after load and may grow (a long text): measured for the first seconds and on every resize.
function tell() {
  const dialogs = document.querySelector('cmp-banner')?.shadowRoot?.querySelectorAll('[role=dialog]') || [];
  const banner = Math.max(0, ...Array.from(dialogs, (dialog) => dialog.getBoundingClientRect().height));
  const page = document.querySelector('main').getBoundingClientRect().bottom + window.scrollY;
  parent.postMessage({ type: 'cmp-preview-height', height: page + banner + 24 }, location.origin);
}
new ResizeObserver(tell).observe(document.documentElement);
const measuring = setInterval(tell, 250);
setTimeout(() => clearInterval(measuring), 5000);
