// The visitor's language: the page's `lang`, then the browser's, then the site's default.
export function pickLanguage(config) {
  const wanted = [document.documentElement.lang, ...(navigator.languages || [navigator.language])];
  for (const tag of wanted) {
    const code = (tag || '').toLowerCase();
    for (const candidate of [code, code.split('-')[0]]) if (config.texts[candidate]) return candidate;
  }
  return config.language;
}
