"""``shelfcast import-csv``: whole-file validation, then orders, products and stores on the real broker."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from services.common.events import event_to_bytes, parse_event
from services.common.privacy import pseudonymize
from services.data_generator.csv_import import load_csv
from services.data_generator.importers.csv_file import CsvImportError
from tests.data_generator.conftest import KEY, last_json_line, messages_on, shelfcast
from tests.topic_reading import read_records

HEADER = [
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Country",
    "City",
    "State",
    "Postal Code",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
    "Quantity",
    "Discount",
    "Profit",
]


def superstore_row(
    order: str,
    day: str,
    customer: str,
    region: str,
    product: str,
    sales: str,
    quantity: str,
    discount: str,
    profit: str,
) -> list[str]:
    name = {
        "FUR-BO-1": "Bush Somerset Collection Bookcase",
        "OFF-LA-2": "Self-Adhesive Address Labels, Rounded",
        "TEC-PH-3": "Polycom Phone",
    }[product]
    category, sub = {
        "FUR": ("Furniture", "Bookcases"),
        "OFF": ("Office Supplies", "Labels"),
        "TEC": ("Technology", "Phones"),
    }[product[:3]]
    return [
        "1",
        order,
        day,
        day,
        "Second Class",
        customer,
        "Claire Gute",
        "Consumer",
        "United States",
        "Henderson",
        "Kentucky",
        "42420",
        region,
        product,
        category,
        sub,
        name,
        sales,
        quantity,
        discount,
        profit,
    ]


ROWS = [
    superstore_row("CA-2016-1", "11/8/2016", "CG-12520", "South", "FUR-BO-1", "261.96", "2", "0", "41.9136"),
    superstore_row("CA-2016-1", "11/8/2016", "CG-12520", "South", "OFF-LA-2", "100.00", "4", "0.2", "-10.00"),
    superstore_row("CA-2016-2", "6/12/2016", "DV-13045", "West", "OFF-LA-2", "14.62", "2", "0", "6.8714"),
    superstore_row("US-2015-3", "10/11/2015", "SO-20335", "South", "TEC-PH-3", "957.5775", "5", "0.45", "-383.031"),
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_superstore_csv_is_published_as_stores_products_and_orders_grouped_by_order_id(cli_settings, capsys, tmp_path):
    path = write_csv(tmp_path / "superstore.csv", ROWS)
    assert shelfcast("import-csv", str(path), "--format", "superstore") == 0
    summary = json.loads(last_json_line(capsys)[0])
    assert summary["by_type"] == {"order": 3, "product": 3, "store": 2} and summary["events"] == 8

    records = read_records(cli_settings, cli_settings.topics.ingest, 8)
    events = [parse_event(r.value) for r in records]
    orders = {e.order_id: e for e in events if e.event_type == "order"}
    assert sorted(orders) == ["CA-2016-1", "CA-2016-2", "US-2015-3"]
    first = orders["CA-2016-1"]
    assert [(ln.sku, ln.quantity, ln.unit_price_cents, ln.discount_cents, ln.revenue_cents) for ln in first.lines] == [
        ("FUR-BO-1", 2, 13098, 0, 26196),
        ("OFF-LA-2", 4, 3125, 2500, 10000),
    ]  # 100.00 after 20 % off: 4 × 31.25 list
    assert first.occurred_at.isoformat() == "2016-11-08T12:00:00+00:00" and first.store_id == "superstore-south"
    assert first.customer_id == pseudonymize("CG-12520", KEY)
    assert sum(ln.revenue_cents for ln in orders["US-2015-3"].lines) == 95758  # Sales 957.5775 to the cent, half-even
    stores = {e.store_id: e for e in events if e.event_type == "store"}
    assert set(stores) == {"superstore-south", "superstore-west"} and stores["superstore-west"].latitude > 30
    blob = b"".join(r.value for r in records)
    assert b"CG-12520" not in blob and b"Claire Gute" not in blob


def test_superstore_products_take_unit_cost_from_sales_minus_profit(tmp_path):
    events = load_csv(write_csv(tmp_path / "s.csv", ROWS), "superstore", KEY)
    products = {e.sku: e for e in events if e.event_type == "product"}
    assert (products["FUR-BO-1"].price_cents, products["FUR-BO-1"].cost_cents) == (
        13098,
        11002,
    )  # (261.96 - 41.9136) / 2
    assert products["OFF-LA-2"].category == "Office Supplies" and products["OFF-LA-2"].sub_category == "Labels"
    assert [e.event_type for e in events] == ["store"] * 2 + ["product"] * 3 + ["order"] * 3
    assert [e.occurred_at.year for e in events if e.event_type == "order"] == [
        2015,
        2016,
        2016,
    ]  # published in date order


def test_reimporting_the_same_file_yields_the_same_event_ids(tmp_path):
    path = write_csv(tmp_path / "s.csv", ROWS)
    assert [event_to_bytes(e) for e in load_csv(path, "superstore", KEY)] == [
        event_to_bytes(e) for e in load_csv(path, "superstore", KEY)
    ]


def test_malformed_superstore_file_exits_non_zero_with_one_line_and_publishes_nothing(cli_settings, capsys, tmp_path):
    bad = (
        ROWS[:1]
        + [superstore_row("CA-2016-2", "13/45/2016", "DV-13045", "West", "OFF-LA-2", "14.62", "2", "0", "6.87")]
        + ROWS[2:]
    )
    path = write_csv(tmp_path / "bad-date.csv", bad)
    assert shelfcast("import-csv", str(path)) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert (
        err.strip()
        == f"shelfcast import-csv: {path}:3: column 'Order Date': '13/45/2016' is not a date in the form m/d/YYYY"
    )
    assert messages_on(cli_settings, cli_settings.topics.all) == 0


def test_superstore_file_missing_a_column_exits_non_zero_naming_it_and_publishes_nothing(
    cli_settings, capsys, tmp_path
):
    path = write_csv(tmp_path / "no-profit.csv", [row[:-1] for row in ROWS], HEADER[:-1])
    assert shelfcast("import-csv", str(path)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}:1: column 'Profit': missing from the header" in err
    assert messages_on(cli_settings, cli_settings.topics.all) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            superstore_row("CA-9", "1/2/2016", "AB-1", "West", "FUR-BO-1", "10.00", "-2", "0", "1"),
            ":2: column 'Quantity': must be positive, got -2",
        ),
        (
            superstore_row("CA-9", "1/2/2016", "AB-1", "West", "FUR-BO-1", "ten", "2", "0", "1"),
            ":2: column 'Sales': 'ten' is not a decimal amount",
        ),
        (
            superstore_row("CA-9", "1/2/2016", "AB-1", "West", "FUR-BO-1", "10.00", "2", "1", "1"),
            ":2: column 'Discount': must be a fraction",
        ),
        (
            superstore_row("CA-9", "1/2/2016", "AB-1", "Mars", "FUR-BO-1", "10.00", "2", "0", "1"),
            ":2: column 'Region': 'Mars' is not one of",
        ),
        (
            superstore_row("CA-9", "1/2/2016", "AB-1", "West", "FUR-BO-1", "10.00", "2", "0", "11"),
            ":2: column 'Profit': exceeds Sales",
        ),
    ],
)
def test_each_kind_of_bad_superstore_value_is_reported_with_line_and_column(row, message, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [row])
    with pytest.raises(CsvImportError) as caught:
        load_csv(path, "superstore", KEY)
    assert f"{path}{message}" in str(caught.value)


def test_rows_of_one_order_that_disagree_are_reported_and_further_problems_counted(tmp_path):
    rows = [
        ROWS[0],
        superstore_row("CA-2016-1", "11/9/2016", "CG-12520", "South", "OFF-LA-2", "1", "1", "0", "0"),
        superstore_row("CA-7", "1/1/2016", "X-1", "West", "OFF-LA-2", "1", "0", "0", "0"),
    ]
    with pytest.raises(CsvImportError) as caught:
        load_csv(write_csv(tmp_path / "conflict.csv", rows), "superstore", KEY)
    assert str(caught.value).endswith(
        ":3: column 'Order Date': differs from line 2 of the same Order ID (and 1 more problem)"
    )


def test_generic_orders_csv_groups_lines_into_orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,date,customer_id,store_id,sku,quantity,unit_price,discount,channel\n"
        "o-1,2026-03-02,alice@example.com,s-nyc,GRO-SNK-001,2,3.99,0.50,store\n"
        "o-1,2026-03-02,alice@example.com,s-nyc,GRO-BEV-002,1,1.49,,store\n"
        "o-2,2026-03-01T18:30:00-05:00,bob@example.com,web,ELE-HPH-001,1,59.00,0,online\n"
    )
    events = load_csv(path, "orders", KEY)
    assert [e.order_id for e in events] == [
        "o-2",
        "o-1",
    ]  # in time order: o-2 is 23:30 UTC on the 1st, o-1 noon UTC on the 2nd
    assert [(ln.sku, ln.unit_price_cents, ln.discount_cents) for ln in events[1].lines] == [
        ("GRO-SNK-001", 399, 50),
        ("GRO-BEV-002", 149, 0),
    ]
    assert events[1].customer_id == pseudonymize("alice@example.com", KEY) and events[0].channel.value == "online"
    path.write_text(path.read_text().replace("2026-03-01T18:30:00-05:00", "2026-03-01T18:30:00"))
    with pytest.raises(CsvImportError, match=r":4: column 'date': '2026-03-01T18:30:00' has no UTC offset"):
        load_csv(path, "orders", KEY)
