// The random values a visitor is known by: the consent id and the visitor token that goes with it.

// 144 random bits, URL-safe: the visitor token (consent.services.visitors on the server).
export function newToken() {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

// A version 4 UUID; crypto.randomUUID exists only on https pages and localhost.
export function newConsentId() {
  return crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) =>
        (d ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (d / 4)))).toString(16),
      );
}
