// Standard signals: Google Consent Mode v2 in window.dataLayer, and Global Privacy Control
// (docs/integration.md, "Google Consent Mode v2 and Global Privacy Control").
const MODE = {
  analytics: ['analytics_storage'],
  marketing: ['ad_storage', 'ad_user_data', 'ad_personalization'],
  preferences: ['functionality_storage', 'personalization_storage'],
};

// What gtag() does: Google's tags read `arguments` objects from the dataLayer.
function gtag() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
}

function states(categories) {
  const out = {};
  for (const key in MODE) for (const type of MODE[key]) out[type] = categories[key] ? 'granted' : 'denied';
  return out;
}

// Everything denied but security, before any tag can run; waiting for the visitor's decision
// when the banner is about to ask.
export function consentDefault(waiting) {
  gtag('consent', 'default', { ...states({}), security_storage: 'granted', ...(waiting && { wait_for_update: 500 }) });
}

export const consentUpdate = (categories) => gtag('consent', 'update', states(categories));

export const gpc = () => navigator.globalPrivacyControl === true;
