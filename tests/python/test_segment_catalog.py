"""Segments as code: a segment added through the var segment_catalog_extra appears in the marts
after `dbt build`; a malformed definition stops the run with a message naming the segment and
what is wrong; and the membership history built run after run (as of D1, then D2, in the same
warehouse) says who entered and left each segment and RFM group, and when."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pandas as pd
import pytest
import yaml

from clv_segments.demo.generator import generate

from dbt_harness import FIXTURES_DIR, PROJECT_DIR, DbtResult, run_dbt, run_main_job

D1, D2 = "2026-08-20", "2026-11-20"
CUSTOM = {
    "name": "french_repeat_buyers_off_newsletter",
    "description": "French customers with 2 valid orders or more in the last 365 days, "
    "not in the newsletter list",
    "conditions": {
        "all": [
            {"field": "country_code", "op": "=", "value": "FR"},
            {"count": "orders", "within_days": 365, "op": ">=", "value": 2},
            {"not": {"in_list": "newsletter"}},
        ]
    },
}
BAD_INPUT_VARS = {"raw_data_path": str(FIXTURES_DIR / "bad_input"), "as_of_date": "2024-06-30"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """One warehouse published by `clv-segments run` as of D1, then as of D2, with the custom
    segment; the memberships seen after each run are kept for comparison."""
    raw = tmp_path_factory.mktemp("segment_history_raw")
    generate(3_000, date.fromisoformat(D2), seed=5, out_dir=raw)
    workdir = tmp_path_factory.mktemp("segment_history")
    database = workdir / "warehouse.duckdb"
    dbt_vars = {"raw_data_path": str(raw), "segment_catalog_extra": [CUSTOM]}
    seen = {}
    for as_of in (D1, D2):
        # three months apart, segments move more than a week's worth: an intended change
        run = run_main_job(
            "run",
            database,
            {**dbt_vars, "as_of_date": as_of},
            "--no-activation",
            "--accept",
            "segment_churn",
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        build = DbtResult(run.returncode, run.stdout + run.stderr, database, workdir / "target")
        if as_of == D1:
            seen = {
                "segments_d1": build.frame(
                    "select segment_name, customer_id from marts.customer_segments"
                ),
                "rfm_d1": build.frame("select customer_id, rfm_group from marts.customer_rfm"),
            }
    return {"build": build, "workdir": workdir, "raw": raw, **seen}


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["segment_name"], frame["customer_id"], strict=True))


def test_custom_segment_appears_in_the_marts_with_the_members_its_rule_picks(history):
    build = history["build"]
    customers = build.frame("select customer_id, country_code from staging.stg_shop__customers")
    orders = build.frame(
        "select customer_id, ordered_at from intermediate.int_orders_netted where is_valid_order"
    )
    newsletter = build.frame(
        "select customer_id from staging.stg_shop__list_memberships "
        "where list_id = 'newsletter' and is_current_member"
    )
    days_ago = (pd.Timestamp(D2) - orders["ordered_at"].dt.normalize()).dt.days
    recent_orders = orders[(days_ago >= 0) & (days_ago < 365)].groupby("customer_id").size()
    expected = (
        set(customers.loc[customers["country_code"] == "FR", "customer_id"])
        & set(recent_orders[recent_orders >= 2].index)
    ) - set(newsletter["customer_id"])

    members = build.query(
        "select customer_id, segment_kind from marts.customer_segments "
        f"where segment_name = '{CUSTOM['name']}'"
    )
    assert {customer_id for customer_id, _ in members} == expected
    assert {kind for _, kind in members} == {"custom"}
    assert len(expected) > 10
    summary = build.query(
        "select segment_kind, description, members, clv_attributes_used "
        f"from marts.segment_summary where segment_name = '{CUSTOM['name']}'"
    )
    assert summary == [("custom", CUSTOM["description"], len(expected), "")]


def test_who_entered_and_left_each_segment_between_two_runs(history):
    build = history["build"]
    before = _pairs(history["segments_d1"])
    after = _pairs(build.frame("select segment_name, customer_id from marts.customer_segments"))
    changes = build.frame(
        "select segment_name, customer_id, change_type, cast(changed_at as date) as changed_on "
        "from marts.segment_membership_changes"
    )
    changes["changed_on"] = changes["changed_on"].astype(str)

    def changed(change_type: str, on: str) -> set[tuple[str, str]]:
        rows = changes[(changes["change_type"] == change_type) & (changes["changed_on"] == on)]
        return _pairs(rows)

    assert changed("entered", D1) == before
    assert changed("entered", D2) == after - before
    assert changed("left", D2) == before - after
    assert len(after - before) > 0 and len(before - after) > 0
    assert set(changes["changed_on"]) == {D1, D2}

    last_changed = dict(
        build.query(
            "select segment_name, cast(cast(membership_last_changed_at as date) as varchar) "
            "from marts.segment_summary"
        )
    )
    moved = {name for name, _ in (after - before) | (before - after)}
    assert {name for name, on in last_changed.items() if on == D2} == moved


def test_rfm_previous_group_and_change_date_come_from_the_history(history):
    build = history["build"]
    before = history["rfm_d1"].set_index("customer_id")["rfm_group"]
    now = build.frame(
        "select customer_id, rfm_group, previous_rfm_group, "
        "cast(cast(rfm_group_changed_at as date) as varchar) as changed_on from marts.customer_rfm"
    ).set_index("customer_id")
    was = before.reindex(now.index)
    moved = was.notna() & (was != now["rfm_group"])
    stayed = was.notna() & (was == now["rfm_group"])
    new = was.isna()
    assert moved.sum() > 0 and stayed.sum() > 0 and new.sum() > 0
    assert (now.loc[moved, "previous_rfm_group"] == was[moved]).all()
    assert (now.loc[moved, "changed_on"] == D2).all()
    assert now.loc[stayed, "previous_rfm_group"].isna().all()
    assert (now.loc[stayed, "changed_on"] == D1).all()
    assert now.loc[new, "previous_rfm_group"].isna().all()
    assert (now.loc[new, "changed_on"] == D2).all()


def test_email_health_counts_deliveries_to_members_at_delivery_time(history):
    build = history["build"]
    stints = build.frame(
        "select segment_name, customer_id, valid_from, valid_to "
        "from intermediate.int_segment_memberships_historized"
    )
    events = build.frame(
        "select customer_id, event_type, campaign_id, occurred_at, is_machine_open "
        "from staging.stg_shop__events where event_type in "
        "('email_delivered', 'email_opened', 'email_unsubscribed', 'email_marked_spam')"
    )
    days_ago = (pd.Timestamp(D2) - events["occurred_at"].dt.normalize()).dt.days
    delivered = events[(events["event_type"] == "email_delivered") & days_ago.between(0, 89)]
    delivered = delivered.groupby(["customer_id", "campaign_id"], as_index=False)[
        "occurred_at"
    ].min()
    counted = delivered.merge(stints, on="customer_id")
    delivered_on = counted["occurred_at"].dt.normalize()
    counted = counted[
        (delivered_on >= pd.to_datetime(counted["valid_from"]))
        & (counted["valid_to"].isna() | (delivered_on < pd.to_datetime(counted["valid_to"])))
    ]
    human = ~((events["event_type"] == "email_opened") & events["is_machine_open"].fillna(False))
    reactions = events[human & (events["event_type"] != "email_delivered") & (days_ago >= 0)]
    for reaction in ("email_opened", "email_unsubscribed", "email_marked_spam"):
        rows = reactions[reactions["event_type"] == reaction]
        pairs = set(zip(rows["customer_id"], rows["campaign_id"], strict=True))
        keys = zip(counted["customer_id"], counted["campaign_id"], strict=True)
        counted[reaction] = [key in pairs for key in keys]
    expected = counted.groupby("segment_name").agg(
        deliveries=("email_opened", "size"),
        opens=("email_opened", "sum"),
        unsubscribes=("email_unsubscribed", "sum"),
        spam_complaints=("email_marked_spam", "sum"),
    )
    expected["is_breach"] = (
        (expected["opens"] / expected["deliveries"] < 0.10)
        | (expected["unsubscribes"] / expected["deliveries"] >= 0.03)
        | (expected["spam_complaints"] / expected["deliveries"] >= 0.0008)
    )
    health = build.frame(
        "select segment_name, deliveries, opens, unsubscribes, spam_complaints, is_breach "
        "from marts.segment_email_health where deliveries > 0"
    ).set_index("segment_name")
    assert health.sort_index().equals(expected.astype(health.dtypes.to_dict()).sort_index())
    # false starts emailed since they fell silent: their reactions count, not their past opens
    assert health.loc["false_starts", "deliveries"] > 0


def test_history_refuses_an_earlier_as_of_date(history, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(history["build"].database, database)
    result = run_main_job(
        "run", database, {"raw_data_path": str(history["raw"]), "as_of_date": "2026-06-01"}
    )
    assert result.returncode == 2
    assert f"var as_of_date = 2026-06-01 is before the last published as-of date {D2}" in (
        result.stderr
    )
    assert "history only moves forward" in result.stderr
    assert "clv-segments backfill" in result.stderr


def test_malformed_definitions_stop_the_run_naming_each_segment(tmp_path):
    bad = [
        {"name": "bad_field", "conditions": {"field": "lifetime_value", "op": ">", "value": 1}},
        {"name": "bad_operator", "conditions": {"field": "historic_clv", "op": "~", "value": 1}},
        {
            "name": "bad_window",
            "conditions": {"count": "events", "event_types": ["email_opened"], "within_days": -7},
        },
        {
            "name": "reversed_window",
            "conditions": {"count": "orders", "between_days": [365, 90]},
        },
        {"name": "bad_value", "conditions": {"field": "is_emailable", "op": "=", "value": "yes"}},
        {"name": "no_conditions", "description": "forgot them"},
        {"name": "biggest_fans", "conditions": {"field": "has_email", "op": "=", "value": True}},
        {
            "name": "bad_kind",
            "kind": "persona",
            "conditions": {"field": "has_email", "op": "=", "value": True},
        },
    ]
    result = run_dbt(
        ["build"], tmp_path, {**BAD_INPUT_VARS, "segment_catalog_extra": bad}, check=False
    )
    assert result.returncode != 0
    extra = "(var segment_catalog_extra)"
    for expected in [
        f"segment 'bad_field' {extra}, conditions: unknown field 'lifetime_value'",
        f"segment 'bad_operator' {extra}, conditions: unknown operator '~'",
        f"segment 'bad_window' {extra}, conditions: malformed window: within_days must be "
        "a whole number of days >= 1, got: -7",
        f"segment 'reversed_window' {extra}, conditions: malformed window: between_days",
        f"segment 'bad_value' {extra}, conditions: value yes is not a boolean",
        f"segment 'no_conditions' {extra}: conditions are missing",
        f"segment 'biggest_fans' {extra}: the name is already used",
        f"segment 'bad_kind' {extra}: kind 'persona' is reserved",
    ]:
        assert expected in result.output, expected
    # parsing failed: nothing was built, not even the seeds
    database = tmp_path / "warehouse.duckdb"
    assert not database.exists() or not result.query(
        "select * from information_schema.tables where table_schema in ('reference', 'marts')"
    )


def test_unknown_list_and_event_type_fail_when_the_segments_are_built(tmp_path):
    extra = [
        {"name": "vip_members", "conditions": {"in_list": "vip_club"}},
        {
            "name": "forwarders",
            "conditions": {"count": "events", "event_types": ["email_forwarded"]},
        },
    ]
    result = run_dbt(
        ["build", "--select", "+int_customers_segmented"],
        tmp_path,
        {**BAD_INPUT_VARS, "segment_catalog_extra": extra},
        check=False,
    )
    assert result.returncode != 0
    assert (
        "segment 'vip_members' (var segment_catalog_extra): unknown list 'vip_club'"
        in result.output
    )
    assert (
        "segment 'forwarders' (var segment_catalog_extra): unknown event type 'email_forwarded'"
        in result.output
    )


def test_every_example_of_the_docs_compiles(tmp_path):
    text = (PROJECT_DIR / "docs" / "segments.md").read_text(encoding="utf-8")
    extra = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        parsed = yaml.safe_load(block)
        definitions = parsed["vars"]["segment_catalog_extra"] if "vars" in parsed else parsed
        for definition in definitions:
            if definition["name"] not in ("engaged_newsletter_subscribers", "biggest_fans"):
                extra.append({key: v for key, v in definition.items() if key != "kind"})
    assert len(extra) >= 4
    result = run_dbt(
        ["compile", "--select", "int_segments_compiled"],
        tmp_path,
        {**BAD_INPUT_VARS, "segment_catalog_extra": extra},
    )
    for definition in extra:
        assert f"'{definition['name']}' as segment_name" in result.output
