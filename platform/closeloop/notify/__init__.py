"""Notifications: templates, records, delivery by e-mail, webhook and in-app inbox.

Producers call `notify_customer(...)` / `notify_staff(...)` (`closeloop.notify.service`)
in the transaction of the change; event names are in `closeloop.notify.events`.
"""
