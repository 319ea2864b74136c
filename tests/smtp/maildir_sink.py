"""An aiosmtpd handler for the tests: every message received is written whole to a folder.

Started by tests/common/smtp.rs as
    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c maildir_sink.Sink FOLDER
(with this folder on PYTHONPATH). Each message becomes FOLDER/NNNNNN.eml, written through a
temporary name and a rename, with the envelope's recipients in an X-Envelope-To header.
"""

import itertools
import os


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)
        os.makedirs(folder, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink: one argument, the folder that receives the messages")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        header = ("X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode("utf-8")
        partial = os.path.join(self.folder, ".%06d.part" % n)
        with open(partial, "wb") as f:
            f.write(header + content)
        os.rename(partial, os.path.join(self.folder, "%06d.eml" % n))
        return "250 Message accepted for delivery"
