"""The welcome email: sent once to each subscriber who confirms, if `content/welcome.md` exists.

Its text is the author's Markdown (`content/welcome.md`, front matter like an issue's), rendered
with the issue's theme and linking to the latest published issue (`message.py`). It is queued,
then sent at once (`sphere.subscribers.welcomes`, `deliver.py`):

1. `POST /confirm` writes `welcome/<id>.json` ("due") with a create-only write *before* it
   confirms the subscriber, so a confirmed reader is never without one, and a second click,
   a re-confirm or a later resubscribe finds it there and queues nothing.
2. Once the confirm page is sent, the endpoint claims the record ("sending", a conditional
   write on its etag: only one process can) and hands the message to the transport; the
   outcome is recorded ("sent", or "failed" to be tried again).
3. `sphere publish` (or `sphere welcome`) sends whatever is still due or failed: the endpoint
   was down, the transport refused, the Lambda timed out.

A claim that never got its outcome (a crash, a lost reply) may have been delivered: it is
never sent again, and is counted as unknown. At most once, like a campaign's unknowns.
"""
