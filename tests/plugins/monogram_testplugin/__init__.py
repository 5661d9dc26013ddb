"""A plug-in package as a third party would write it: a channel and a quality check, registered
by entry point (see the ``.dist-info`` folder beside it), with no change to Monogram itself."""

from __future__ import annotations

from typing import Any

from monogram.delivery.channels import Delivery, Outbound
from monogram.quality.checks import CheckInput, CheckResult, Reason

SENT: list[Outbound] = []
RAISE_FOR: set[str] = set()  # profile ids the check fails on with an exception


class MemoryChannel:
    """``memory://anything``: keeps what it is given in ``SENT``."""

    name = "memory"

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, message: Outbound) -> Delivery:
        SENT.append(message)
        return Delivery(message.message_id, "sent", provider_id=f"mem-{len(SENT)}")


def memory_channel(url: str, *, sender: str, webhook_secret: str | None = None) -> Any:
    return MemoryChannel(url)


class NoShouting:
    """Fails a text with an exclamation mark; raises for the profiles in ``RAISE_FOR``."""

    name = "no_shouting"

    def __call__(self, item: CheckInput) -> CheckResult:
        if item.context.get("profile_id") in RAISE_FOR:
            raise RuntimeError("no_shouting exploded")
        if "!" in item.text:
            return CheckResult(self.name, False, 0.0, [Reason("shouts", "!")])
        return CheckResult(self.name, True, 1.0)
