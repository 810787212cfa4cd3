"""The one network probe: does a host answer within a bounded time? (tfds downloads use it.)

`tfds.load` offline retries for minutes, so the training data loaders ask this first and fail
at once naming the folder alternative. The probe runs in a daemon thread that is abandoned after
timeout + 0.5 s, so neither a slow DNS lookup nor a silent server can stretch it.
"""

from __future__ import annotations

import threading

TFDS_PROBE_URL = "https://storage.googleapis.com/"  # where tfds fetches prepared data and sources


def host_reachable(url: str, timeout: float = 3.0) -> bool:
    """Does `url` answer an HTTP request within `timeout` seconds (any HTTP status counts)?"""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    result: list[bool] = []

    def probe():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            result.append(True)
        except urllib.error.HTTPError:
            result.append(True)  # the server answered
        except (OSError, ValueError):
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True, name="srviewer-net-probe")
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])
