"""A writer process for the store tests: `python -m tests.store._writer URL NAME BATCHES SIZE`.

Appends BATCHES batches of SIZE events to stream NAME, printing "ready" after opening the store
and "done" after the last append. With SIZE large it is the victim of the SIGKILL test.
"""

from __future__ import annotations

import sys

from store import NewEvent, open_store


def main(url: str, name: str, batches: int, size: int) -> None:
    store = open_store(url)
    print("ready", flush=True)
    for b in range(batches):
        store.append(
            [
                NewEvent(
                    stream_id=name,
                    event_type="Written",
                    data={"writer": name, "batch": b, "i": i, "pad": "x" * 200},
                    idempotency_key=f"{name}-{b}-{i}",
                )
                for i in range(size)
            ]
        )
    print("done", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
