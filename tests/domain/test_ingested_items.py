"""validate_item: one item of a batch into a model with its stored source, or its rejection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.domain.ingested_items import ActivityItem, ItemResult, validate_item

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _raw(**fields: object) -> dict[str, object]:
    return {
        "external_id": "crm-1",
        "type": "connects",
        "occurred_at": "2026-12-01T09:30:00-05:00",
        "slack_user_id": "U0ANA",
    } | fields


def _valid(raw: object, default_source: str = "crm", *, from_adapter: bool = False) -> ActivityItem:
    checked = validate_item(raw, default_source, NOW, from_adapter=from_adapter)
    assert isinstance(checked, ActivityItem), checked
    return checked


def test_the_source_is_the_items_own_else_the_default_namespaced_unless_an_adapter_made_it() -> None:
    assert _valid(_raw()).source == "api:crm"
    assert _valid(_raw(source="dialer")).source == "api:dialer"
    assert _valid(_raw(source="api:dialer")).source == "api:dialer"
    assert _valid(_raw(), "hubspot", from_adapter=True).source == "hubspot"
    assert _valid(_raw(source="outreach"), "hubspot", from_adapter=True).source == "outreach"


def test_the_stored_source_counts_as_set_as_model_copy_made_it() -> None:
    item = _valid(_raw())
    assert "source" in item.model_fields_set
    assert item.model_dump(exclude_unset=True)["source"] == "api:crm"
    assert item.model_dump(mode="json")["source"] == "api:crm"
    assert item == ActivityItem.model_validate(_raw(source="api:crm"), context={"from_adapter": False})


def test_a_model_passed_in_is_never_changed() -> None:
    given = ActivityItem.model_validate(_raw(), context={"from_adapter": False})
    assert given.source is None
    stored = _valid(given, "crm")
    assert stored.source == "api:crm"
    assert given.source is None and "source" not in given.model_fields_set
    assert _valid(stored, "other") is stored  # namespaced already: handed back as it is


def test_the_rest_of_the_item_is_validated_as_before() -> None:
    item = _valid(_raw(note=" two\nlines ", quantity=3))
    assert (item.external_id, item.type, item.quantity, item.note) == ("crm-1", "connect", 3, "two lines")
    assert item.occurred_at == datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert validate_item(_raw(type="hours", quantity=1.5), "crm", NOW) == _valid(_raw(type="hour", quantity=1.5))
    assert validate_item(_raw(type="hours", quantity=1.25), "crm", NOW) == ItemResult(
        "crm-1", "rejected", "hours go from 0.5 to 24 in halves"
    )
    assert validate_item(_raw(quantity=1.5), "crm", NOW) == ItemResult(
        "crm-1", "rejected", "quantity is a whole number from 1 to 500"
    )
    assert validate_item(_raw(type="nap"), "crm", NOW) == ItemResult(
        "crm-1", "rejected", "type: 'nap' isn't an activity type"
    )


def test_a_future_item_is_refused_before_its_source_is_measured() -> None:
    long_source = "x" * 61  # within the field's 64, over 64 once namespaced
    future = (NOW + timedelta(hours=1)).isoformat()
    assert validate_item(_raw(source=long_source, occurred_at=future), "crm", NOW) == ItemResult(
        "crm-1", "rejected", "occurred_at is in the future"
    )
    assert validate_item(_raw(source=long_source), "crm", NOW) == ItemResult(
        "crm-1", "rejected", "source: at most 60 characters"
    )
