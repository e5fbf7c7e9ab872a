"""Ports for test servers come from below the kernel's ephemeral range, where no
outgoing connection can take them between the choice and the server's bind."""

from __future__ import annotations

import socket

from shared.messaging.embedded_broker import _ephemeral_range, free_port


def test_a_free_port_is_bindable_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    for _ in range(20):
        port = free_port()
        assert not low <= port <= high
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
