"""Engine(plan) from a dict, JSON text or a path; invalid plans; plan changes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import make_plan

import upline


def events(engine: upline.Engine) -> str:
    engine.join(1, at=1_000)
    engine.join(2, sponsor=1, at=2_000)
    engine.purchase("o", 2, "main", "12.34", at=3_000)
    return engine.digest()


def test_plan_from_dict_json_text_and_path(tmp_path: Path) -> None:
    plan = make_plan()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=2), encoding="utf-8")
    digests = {
        events(upline.Engine(plan)),
        events(upline.Engine(json.dumps(plan))),
        events(upline.Engine("\n  " + json.dumps(plan))),
        events(upline.Engine(path)),
        events(upline.Engine(str(path))),
    }
    assert len(digests) == 1


def test_decimals_in_a_plan_dict() -> None:
    plan = make_plan(shops={"main": {"ratio": Decimal("0.5"), "min_basket": Decimal("1E+1")}})
    engine = upline.Engine(plan)
    assert engine.plan["shops"]["main"] == {"ratio": "0.5", "min_basket": "10.00"}


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        upline.Engine(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError):
        upline.Engine(str(tmp_path / "nope.json"))


def test_wrong_plan_types() -> None:
    with pytest.raises(TypeError):
        upline.Engine(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"tiers\[0\]\.rates\[0\]: floats are not exact"):
        upline.Engine(make_plan(tiers=[{"name": "bronze", "width": 3, "rates": [0.05]}]))


def test_invalid_plan_names_every_fault() -> None:
    plan = make_plan(tiers=[{"name": "bronze", "width": 1, "rates": ["0.0000001"]}], colour="red")
    with pytest.raises(upline.InvalidPlan) as info:
        upline.Engine(plan)
    assert info.value.code == "invalid_plan"
    message = info.value.message
    assert "colour: unknown key" in message
    assert "tiers[0].width: 1 is out of range 2..64" in message
    assert 'tiers[0].rates[0]: "0.0000001" has more than 6 decimals' in message
    assert not message.startswith("invalid_plan")
    with pytest.raises(upline.InvalidPlan, match="not valid JSON"):
        upline.Engine("{ nope")


def test_change_plan_appends_a_tier_and_promotes(two_tier_plan: dict) -> None:
    engine = upline.Engine(two_tier_plan)
    engine.join(1, at=1)
    engine.join(2, sponsor=1, at=2)
    engine.join(3, sponsor=1, at=3)
    engine.adjust(1, "100", "ops", "seed", at=4)
    assert engine.member(1).tier == "silver"
    bigger = engine.plan
    bigger["tiers"].append({"name": "gold", "width": 2, "rates": ["0.01"], "promote_at": {"lifetime_points": "50"}})
    effects = engine.change_plan(bigger, actor="ops", at=5)
    assert effects == (upline.Promoted(1, "silver", "gold"), upline.Placed(1, "gold", None, 0))
    assert engine.tiers == ("bronze", "silver", "gold") and engine.census() == {"bronze": 2, "silver": 0, "gold": 1}
    assert engine.clock == 5


def test_change_plan_from_a_path(tmp_path: Path, plan: dict) -> None:
    engine = upline.Engine(plan)
    changed = make_plan(shops={"main": {"ratio": "2"}})
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    assert engine.change_plan(path, actor="ops", at=1_000) == ()
    engine.join(1, at=2_000)
    assert engine.purchase("o", 1, "main", "1.00", at=3_000) == (upline.Credit(1, Decimal("2.00"), "own"),)
    assert engine.clock == 3_000
