"""Kombu's filesystem transport with an atomic write.

The stock transport creates the message file and then writes it, so a polling worker can
move and read an empty file and crash (kombu issue #1551). Writing under a temporary name
that no queue matches and then `os.replace`-ing it makes the message appear whole or not at all.
"""
import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final_path = os.path.join(self.data_folder_out, name)
        temp_path = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4().hex}")
        try:
            with open(temp_path, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, final_path)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final_path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        options = client.transport_options
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)
        super().__init__(client, **kwargs)


def install() -> None:
    """Make `filesystem://` URLs use this transport."""
    TRANSPORT_ALIASES["filesystem"] = "config.kombu_fs:Transport"
