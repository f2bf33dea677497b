"""Texts every site starts with, in English, German, French and Spanish."""

from consent.services.cookie_database import default_patterns

LANGUAGES = ("en", "de", "fr", "es")

CATEGORY_TEXTS = {
    "authentication": {
        "en": ("Strictly necessary", "Login, security and load balancing. The site cannot work without them."),
        "de": (
            "Unbedingt erforderlich",
            "Anmeldung, Sicherheit und Lastverteilung. Ohne sie funktioniert die Website nicht.",
        ),
        "fr": (
            "Strictement nécessaires",
            "Connexion, sécurité et répartition de charge. Le site ne peut fonctionner sans eux.",
        ),
        "es": (
            "Estrictamente necesarias",
            "Inicio de sesión, seguridad y balanceo de carga. El sitio no funciona sin ellas.",
        ),
    },
    "preferences": {
        "en": ("Preferences", "Remember your language and settings."),
        "de": ("Präferenzen", "Speichern Ihre Sprache und Einstellungen."),
        "fr": ("Préférences", "Mémorisent votre langue et vos réglages."),
        "es": ("Preferencias", "Recuerdan su idioma y su configuración."),
    },
    "analytics": {
        "en": ("Analytics", "Count visits and see how the site is used, so we can improve it."),
        "de": (
            "Statistik",
            "Zählen Besuche und zeigen, wie die Website genutzt wird, damit wir sie verbessern können.",
        ),
        "fr": ("Mesure d'audience", "Comptent les visites et montrent l'usage du site, pour l'améliorer."),
        "es": ("Analítica", "Cuentan las visitas y muestran cómo se usa el sitio, para mejorarlo."),
    },
    "marketing": {
        "en": ("Marketing", "Show you relevant ads and measure campaigns, also on other sites."),
        "de": ("Marketing", "Zeigen Ihnen passende Werbung und messen Kampagnen, auch auf anderen Websites."),
        "fr": (
            "Marketing",
            "Affichent des publicités pertinentes et mesurent les campagnes, aussi sur d'autres sites.",
        ),
        "es": ("Marketing", "Muestran anuncios relevantes y miden campañas, también en otros sitios."),
    },
}

BANNER_TEXTS = {
    "en": {
        "title": "Your privacy",
        "description": "We use cookies for the site to work and, with your permission, for statistics and marketing.",
        "acceptAll": "Accept all",
        "rejectAll": "Reject all",
        "customize": "Customize",
        "policy": "Cookie policy",
        "updated": "Last updated",
        "prefsTitle": "Cookie preferences",
        "save": "Save choices",
        "close": "Close",
        "alwaysOn": "Always on",
        "gpc": "Your browser's Global Privacy Control signal was honoured: marketing is off.",
        "forget": "Forget me",
        "receipt": "Receipt of my choice",
    },
    "de": {
        "title": "Ihre Privatsphäre",
        "description": "Wir verwenden Cookies, damit die Website funktioniert, und mit Ihrer Erlaubnis für Statistik und Marketing.",
        "acceptAll": "Alle akzeptieren",
        "rejectAll": "Alle ablehnen",
        "customize": "Anpassen",
        "policy": "Cookie-Richtlinie",
        "updated": "Zuletzt aktualisiert",
        "prefsTitle": "Cookie-Einstellungen",
        "save": "Auswahl speichern",
        "close": "Schließen",
        "alwaysOn": "Immer aktiv",
        "gpc": "Das Global-Privacy-Control-Signal Ihres Browsers wurde beachtet: Marketing ist aus.",
        "forget": "Meine Daten löschen",
        "receipt": "Beleg meiner Auswahl",
    },
    "fr": {
        "title": "Votre vie privée",
        "description": "Nous utilisons des cookies pour faire fonctionner le site et, avec votre accord, pour la mesure d'audience et le marketing.",
        "acceptAll": "Tout accepter",
        "rejectAll": "Tout refuser",
        "customize": "Personnaliser",
        "policy": "Politique de cookies",
        "updated": "Mise à jour",
        "prefsTitle": "Préférences de cookies",
        "save": "Enregistrer mes choix",
        "close": "Fermer",
        "alwaysOn": "Toujours actif",
        "gpc": "Le signal Global Privacy Control de votre navigateur a été respecté : le marketing est désactivé.",
        "forget": "M'oublier",
        "receipt": "Reçu de mon choix",
    },
    "es": {
        "title": "Su privacidad",
        "description": "Usamos cookies para que el sitio funcione y, con su permiso, para estadísticas y marketing.",
        "acceptAll": "Aceptar todo",
        "rejectAll": "Rechazar todo",
        "customize": "Personalizar",
        "policy": "Política de cookies",
        "updated": "Última actualización",
        "prefsTitle": "Preferencias de cookies",
        "save": "Guardar selección",
        "close": "Cerrar",
        "alwaysOn": "Siempre activas",
        "gpc": "Se ha respetado la señal Global Privacy Control de su navegador: el marketing está desactivado.",
        "forget": "Olvidarme",
        "receipt": "Recibo de mi elección",
    },
}


def default_category_texts(key: str) -> dict[str, dict[str, str]]:
    texts = CATEGORY_TEXTS.get(key, {})
    return {lang: {"name": name, "description": description} for lang, (name, description) in texts.items()}


def default_category_patterns(key: str) -> list[str]:
    return list(default_patterns().get(key, []))
