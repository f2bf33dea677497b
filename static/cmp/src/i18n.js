// The visitor's language: the page's `lang`, then the browser's, then the site's default. Each tag
// as it is, then its base language (de-AT reads de); Norwegian Bokmål and Nynorsk (nb, nn, nb-NO)
// read the site's Norwegian (no).
export function pickLanguage(config) {
  const wanted = [document.documentElement.lang, ...(navigator.languages || [navigator.language])];
  for (const tag of wanted) {
    const code = (tag || '').toLowerCase();
    const base = code.split('-')[0];
    for (const candidate of [code, base, /^n[bn]$/.test(base) && 'no']) if (config.texts[candidate]) return candidate;
  }
  return config.language;
}
