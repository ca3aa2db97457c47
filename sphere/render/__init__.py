"""Rendering: the Jinja environment and filters, the email (MJML), and its plain-text part."""
