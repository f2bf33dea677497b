"""What the product reads: the figures, histories and lists the dashboard, the admin and a visitor's
rights requests show. Selectors never write; what changes data lives in consent.services."""
