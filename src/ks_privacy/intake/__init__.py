"""Requests that arrive by e-mail (issue 19): the privacy mailbox read over IMAP.

`message` reads a message, `classify` decides what it asks for (or that a person must look),
`ledger` remembers which messages were handled, `mailbox` speaks IMAP through Airflow's
ImapHook, `idcopy` makes the copy without the ID copy, `replies` words and sends what the
sender hears, `reading` and `tasks` are the DAGs' task bodies, `identity_step` the human
step that confirms an identity. Registration itself is ks_privacy.registration's, as for
every other entry point.
"""
