"""Admin registrations: sites and their parts, read-only decisions, API keys."""

from consent.admin.sites import *  # noqa: F401,F403
