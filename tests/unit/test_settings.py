"""Settings read from the environment: the stand-ins are off unless asked for."""

from __future__ import annotations

from dataclasses import replace

from auction.settings import Settings


def test_the_stand_ins_exist_only_in_demo_mode_or_when_turned_on() -> None:
    production = Settings.from_env({})
    assert (production.stand_ins, production.stand_ins_on) == (False, False)
    assert Settings.from_env({"AUCTION_STAND_INS": "off"}).stand_ins_on is False
    assert Settings.from_env({"AUCTION_STAND_INS": "on"}).stand_ins_on is True
    assert Settings.from_env({"AUCTION_STAND_INS": "1"}).stand_ins_on is True
    assert replace(production, demo=True).stand_ins_on is True  # `auction serve --demo`
