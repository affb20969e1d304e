"""A real SMTP server on loopback for the email notifier tests (Debian python3-aiosmtpd).

Listens on 127.0.0.1 at an OS-chosen port, prints `READY <port>`, then one JSON line per received
message with the envelope and the message decoded by Python's own email parser (an implementation
independent of nodemailer): subject, text and html parts, headers. AUTH (PLAIN/LOGIN) is required and
accepted only for SMTP_USER/SMTP_PASS; RCPT to an address starting with `reject` is refused with 550.
Stops on stdin EOF, so it dies with the test process.
"""
import asyncio
import hashlib
import json
import os
import sys
from email import message_from_bytes, policy

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER = os.environ.get("SMTP_USER", "ioc")
PASS = os.environ.get("SMTP_PASS", "secret")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        out = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data.login.decode() if session.auth_data else None,
            "subject": str(msg["subject"]),
            # as on the wire (RFC 2047 encoded words), to show the header itself is 7-bit clean
            "raw_subject": message_from_bytes(envelope.content, policy=policy.compat32)["subject"],
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "delivery": str(msg["x-ioc-delivery"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            # files attached (the report emails): name as decoded from RFC 2231, and a digest of the bytes
            "attachments": [
                {
                    "filename": a.get_filename(),
                    "content_type": a.get_content_type(),
                    "size": len(a.get_payload(decode=True) or b""),
                    "sha256": hashlib.sha256(a.get_payload(decode=True) or b"").hexdigest(),
                }
                for a in msg.iter_attachments()
            ],
        }
        print(json.dumps(out, ensure_ascii=False), flush=True)
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASS
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: SMTP(Handler(), hostname="sink.test", authenticator=authenticator, auth_required=True, auth_require_tls=False),
        "127.0.0.1",
        0,
    )
    port = srv.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    srv.close()


asyncio.run(main())
