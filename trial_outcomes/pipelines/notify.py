"""Telling people that a stopping boundary was crossed: a webhook (Slack, Microsoft
Teams or plain JSON) and e-mail over SMTP, as the analysis plan's ``[notify]``
says. Only the standard library is used; credentials come from environment
variables the plan names, never from the plan itself."""

from __future__ import annotations

import json
import os
import smtplib
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from trial_outcomes.plan import Notify


@dataclass(frozen=True)
class Alert:
    """One crossed boundary (or several) of one run."""

    cut: str
    run_id: str
    rules: list[str]  # each crossed rule with the data it saw
    report: str = ""  # where the published report is, when it is
    extra: dict[str, str] = field(default_factory=dict)
    #: the drop's open data queries, as the report's page 1 names them: the numbers that
    #: crossed use the drop as exported (a red team's supportive care coded as new therapy
    #: made the futility rule cross, and the alert said nothing of the query beside it)
    queries: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"[DSMB] Stopping boundary crossed at data cut {self.cut}"

    @property
    def text(self) -> str:
        lines = [
            f"A stopping boundary of the NCT04325841 analysis plan was crossed at data cut {self.cut} "
            f"(run {self.run_id[:8]}).",
            "",
        ]
        lines += [f"- {rule}" for rule in self.rules]
        if self.queries:
            n = len(self.queries)
            lines += [
                "",
                f"The drop has {n} open data {'query' if n == 1 else 'queries'}; the numbers above use the drop as "
                "exported (the report's page 1 states each):",
            ]
            lines += [f"- {query}" for query in self.queries]
        if self.report:
            lines += ["", f"Report: {self.report}"]
        return "\n".join(lines)


def webhook_payload(alert: Alert, fmt: str) -> dict[str, Any]:
    if fmt == "slack":
        return {"text": f"*{alert.subject}*\n{alert.text}"}
    if fmt == "teams":
        body = [
            {
                "type": "TextBlock",
                "size": "Large",
                "weight": "Bolder",
                "color": "Attention",
                "text": alert.subject,
                "wrap": True,
            }
        ]
        body += [{"type": "TextBlock", "text": line, "wrap": True} for line in alert.text.splitlines() if line]
        card = {
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }
    return {
        "event": "stopping_boundary_crossed",
        "trial": "NCT04325841",
        "data_cut": alert.cut,
        "run_id": alert.run_id,
        "rules": alert.rules,
        "report": alert.report,
        "data_queries": alert.queries,
    }


def send_webhook(notify: Notify, alert: Alert) -> None:
    data = json.dumps(webhook_payload(alert, notify.webhook_format)).encode("utf-8")
    request = urllib.request.Request(
        notify.webhook_url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=notify.timeout_seconds) as response:
        if response.status >= 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def send_email(notify: Notify, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = notify.smtp_from
    message["To"] = ", ".join(notify.smtp_to)
    message.set_content(alert.text)
    with smtplib.SMTP(notify.smtp_host, notify.smtp_port, timeout=notify.timeout_seconds) as smtp:
        if notify.smtp_starttls:
            smtp.starttls()
        user = os.environ.get(notify.smtp_user_env, "") if notify.smtp_user_env else ""
        if user:
            smtp.login(user, os.environ.get(notify.smtp_password_env, ""))
        smtp.send_message(message)


CHANNELS = ("webhook", "e-mail")


def configured_channels(notify: Notify) -> list[str]:
    return [name for name, on in zip(CHANNELS, (bool(notify.webhook_url), bool(notify.smtp_host)), strict=True) if on]


def announce(
    notify: Notify,
    alert: Alert,
    channels: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Send the alert every way the plan configures (or only ``channels``); return one
    line per channel, ``<channel>: sent`` or ``<channel>: FAILED (<why>)``. Each
    channel is tried ``1 + notify.retries`` times, waiting ``retry_wait_seconds``
    times the attempt between tries; one channel failing never stops the other, and
    no error of any kind escapes (a bad URL raised ValueError after publishing)."""
    senders = {"webhook": send_webhook, "e-mail": send_email}
    done = []
    for name in channels if channels is not None else configured_channels(notify):
        error = ""
        for attempt in range(1, notify.retries + 2):
            try:
                senders[name](notify, alert)
                error = ""
                break
            except Exception as exc:  # any failure of delivery is reported, never raised
                error = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
                if attempt <= notify.retries:
                    sleep(notify.retry_wait_seconds * attempt)
        done.append(f"{name}: sent" if not error else f"{name}: FAILED ({error})")
    return done
