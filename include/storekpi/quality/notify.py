"""E-mails to the data role about a blocked run or data warnings (sent by `storekpi.mailer`).

Example rows come from marts, raw and audit, which hold no personal data, so they are safe to put in a mail.
"""

from __future__ import annotations

import html
from datetime import date
from email.message import EmailMessage

from storekpi import mailer
from storekpi.config import StoreConfig
from storekpi.quality.results import CheckResult, GateResult


def notification(result: GateResult, run_date: date, config: StoreConfig) -> list[EmailMessage]:
    """One message per data-role address; none when the run neither blocked nor warned."""
    failures, warnings = result.failures, result.warnings
    if not failures and not warnings:
        return []
    if failures:
        subject = f"[storekpi] {run_date}: run blocked — {len(failures)} failed checks"
        intro = (f"The run for {run_date} was blocked by the quality gates: nothing was published, analysts keep "
                 f"the previous state. {len(failures)} blocking checks failed.")
    else:
        subject = f"[storekpi] {run_date}: {len(warnings)} data warnings"
        intro = (f"The run for {run_date} passed the quality gates with {len(warnings)} data warnings: they are "
                 f"recorded and do not block publishing.")
    sections = [("Blocking failures", failures), ("Warnings", warnings)]
    text = render_text(intro, sections)
    page = render_html(subject, intro, sections)
    return [mailer.message(to=address, subject=subject, text=text, html=page)
            for address in sorted(config.recipients("data"))]


def render_text(intro: str, sections: list[tuple[str, list[CheckResult]]]) -> str:
    lines = [intro, ""]
    for title, checks in sections:
        if not checks:
            continue
        lines += [f"{title} ({len(checks)}):", ""]
        for number, check in enumerate(checks, 1):
            lines.append(f"{number}. {check.message()}")
            lines.append(f"   suite {check.suite}; unexpected {_count(check)}")
            for row in check.examples:
                lines.append("   - " + ", ".join(f"{k}={v}" for k, v in row.items()))
            lines.append("")
    lines.append("Every result of this run is in audit.dq_results.")
    return "\n".join(lines) + "\n"


def render_html(subject: str, intro: str, sections: list[tuple[str, list[CheckResult]]]) -> str:
    esc = html.escape
    parts = [f"<html><head><meta charset='utf-8'><title>{esc(subject)}</title></head><body>",
             f"<p>{esc(intro)}</p>"]
    for title, checks in sections:
        if not checks:
            continue
        parts.append(f"<h2>{esc(title)} ({len(checks)})</h2>")
        for check in checks:
            parts.append(f"<h3>{esc(check.expectation)} on {esc(check.where)}</h3>")
            parts.append(f"<p>{esc(check.message())}<br>suite {esc(check.suite)}; unexpected "
                         f"{esc(_count(check))}</p>")
            if check.examples:
                columns = list(dict.fromkeys(k for row in check.examples for k in row))
                head = "".join(f"<th>{esc(c)}</th>" for c in columns)
                body = "".join("<tr>" + "".join(f"<td>{esc(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
                               for row in check.examples)
                parts.append(f"<table border='1' cellpadding='3'><tr>{head}</tr>{body}</table>")
    parts.append("<p>Every result of this run is in <code>audit.dq_results</code>.</p></body></html>")
    return "\n".join(parts)


def _count(check: CheckResult) -> str:
    if check.unexpected_count is None:
        return "n/a"
    return f"{check.unexpected_count} of {check.element_count}" if check.element_count is not None \
        else str(check.unexpected_count)
