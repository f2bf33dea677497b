"""How this project launches Debian's Chromium headless (the browser tests and the widget
benchmark): Playwright's own browser download cannot work here."""

EXECUTABLE = "/usr/bin/chromium"
# No sandbox (containers run as root), and nothing that calls out to Google in the background.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
