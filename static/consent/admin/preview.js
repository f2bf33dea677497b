// The site form's live preview: the framed banner follows the form's unsaved colour, position,
// settings button and banner texts (sent as ?draft=, laid over the saved settings by the server,
// never stored), and the frame grows to the framed page's height so the whole banner shows.
const frame = () => document.getElementById('banner-preview');
const FIELD = /^id_(title|description|acceptAll)_([a-z]{2,3}(?:-[a-z0-9]+)*)$/i;

function draft() {
  const value = (id) => document.getElementById(id)?.value;
  const texts = {};
  for (const input of document.querySelectorAll('input[id^="id_"], textarea[id^="id_"]')) {
    const match = FIELD.exec(input.id);
    if (match && input.value.trim()) (texts[match[2]] ||= {})[match[1]] = input.value.trim();
  }
  return {
    colour: value('id_primary_colour'),
    position: value('id_position'),
    settingsButton: value('id_settings_button'),
    texts,
  };
}

let timer;
function refresh() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const url = new URL(frame().src, location.href);
    url.searchParams.set('draft', JSON.stringify(draft()));
    frame().src = url.href;
  }, 400);
}

document.addEventListener('DOMContentLoaded', () => {
  if (!frame()) return;
  document.querySelector('#site_form')?.addEventListener('input', refresh);
  document.querySelector('#site_form')?.addEventListener('change', refresh);
});

// The framed preview page tells its height (same origin only).
addEventListener('message', (event) => {
  if (event.origin !== location.origin || event.data?.type !== 'cmp-preview-height' || !frame()) return;
  frame().style.height = `${Math.ceil(event.data.height) + 2}px`;
});
