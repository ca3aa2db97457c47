"""Send: transports (outbox, SMTP, SES), the campaign ledger, pacing and the campaign loop."""
