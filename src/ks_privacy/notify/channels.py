"""Delivery through Airflow's own notifiers: e-mail with apache-airflow-providers-smtp's
SmtpNotifier, chat with apache-airflow-providers-slack's SlackWebhookNotifier (a Slack-format
incoming webhook: Slack itself, or Mattermost, which accepts the same payload). Both read their
Airflow connection when they send; the providers are imported then, never at DAG import."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ks_privacy.notify.messages import Message
from ks_privacy.notify.people import People, Person

log = logging.getLogger("ks_privacy.notify")


class NotificationFailed(RuntimeError):
    """No configured channel delivered the message: nobody was told."""


def deliver(message: Message, people: People, recipients: Sequence[Person]) -> list[str]:
    """Send `message` by e-mail to `recipients` and to the chat channel; returns the channels
    that delivered. One channel failing is logged; all of them failing raises, because a human
    step nobody hears of would wait unnoticed."""
    delivered, failed = [], []
    emails = sorted({p.email for p in recipients if p.email})
    if people.email_connection and emails:
        try:
            _email(message, emails, people)
            delivered.append("email")
        except Exception as exc:  # a channel's own error: logged, the other channel still tries
            failed.append(f"email ({_reason(exc)})")
    if people.chat_connection:
        try:
            _chat(message, people.chat_connection)
            delivered.append("chat")
        except Exception as exc:
            failed.append(f"chat ({_reason(exc)})")
    for problem in failed:
        log.warning("notification %r not delivered by %s", message.subject, problem)
    if failed and not delivered:
        raise NotificationFailed(f"{message.subject!r} was not delivered: {'; '.join(failed)}")
    if not delivered:
        log.warning(
            "notification %r: no channel configured for its %d recipients (ks_people: "
            "email_connection, chat_connection); nobody was told",
            message.subject,
            len(recipients),
        )
    else:
        log.info("notification %r sent by %s", message.subject, ", ".join(delivered))
    return delivered


def _email(message: Message, to: list[str], people: People) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    SmtpNotifier(
        to=to,
        from_email=people.email_from,  # None: the connection's `from_email` extra
        subject=message.subject,
        html_content=message.html(),
        smtp_conn_id=people.email_connection,
    ).notify({})


def _chat(message: Message, conn_id: str) -> None:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=message.text()).notify({})


def _reason(exc: Exception) -> str:
    """A channel's error for the log, without addresses (an SMTP refusal lists recipients)."""
    words = [w for w in str(exc).split() if "@" not in w]
    return f"{type(exc).__name__}: {' '.join(words)[:200]}"
