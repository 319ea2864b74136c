"""Reads one .eml file with Python's standard email parser and prints what the tests check, as
JSON: headers, the plain-text and HTML parts (decoded), and whether the parser found defects."""

import email
import email.policy
import json
import sys

with open(sys.argv[1], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)

text = message.get_body(preferencelist=("plain",))
html = message.get_body(preferencelist=("html",))
print(json.dumps({
    "subject": str(message["subject"]),
    "from": str(message["from"]),
    "to": str(message["to"]),
    "envelope_to": str(message.get("x-envelope-to", "")),
    "message_id": str(message["message-id"]),
    "content_type": message.get_content_type(),
    "text": text.get_content() if text is not None else None,
    "html": html.get_content() if html is not None else None,
    "defects": [str(d) for d in message.defects],
}))
