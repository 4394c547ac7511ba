"""Sales entered by hand: validate the form, build an ``OrderPlaced`` and publish it through Kafka.

The dashboard never writes sales to MongoDB itself: a hand-entered sale takes the normal ingestion
path (Kafka → consumer → orders, stock, rollups), so it is validated, deduplicated and counted
exactly like any channel's sale.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

from kafka.errors import KafkaError

from services.common.bus import EventProducer
from services.common.events import MAX_QUANTITY, Channel, OrderLine, OrderPlaced
from services.common.privacy import pseudonymize
from services.common.settings import Settings
from services.dashboard.data import Catalog

ACK_TIMEOUT_S = 10.0


class PublishFailed(Exception):
    """Kafka did not acknowledge the event; the message says why."""


def validate_sale(
    sku: str | None, store_id: str | None, channel: str | None, quantity: object, catalog: Catalog
) -> dict[str, str]:
    """Field → message for every problem in the form (empty when the sale can be published)."""
    errors: dict[str, str] = {}
    if not sku:
        errors["sku"] = "Choose a product."
    elif sku not in set(catalog.products["sku"]):
        errors["sku"] = f"Unknown product {sku!r}."
    if not store_id:
        errors["store_id"] = "Choose a store."
    elif store_id not in set(catalog.stores["store_id"]):
        errors["store_id"] = f"Unknown store {store_id!r}."
    if channel not in {c.value for c in Channel}:
        errors["channel"] = "Choose a channel."
    if quantity in (None, ""):
        errors["quantity"] = "Enter a quantity."
    elif not isinstance(quantity, int) and not (isinstance(quantity, float) and quantity.is_integer()):
        errors["quantity"] = "Quantity must be a whole number."
    elif not 1 <= int(quantity) <= MAX_QUANTITY:  # type: ignore[arg-type]
        errors["quantity"] = f"Quantity must be between 1 and {MAX_QUANTITY:,}."
    return errors


def build_sale(sku: str, store_id: str, channel: str, quantity: int, catalog: Catalog, customer_id: str) -> OrderPlaced:
    """An order of one line at the catalog price, stamped now."""
    price = int(catalog.products.set_index("sku").at[sku, "price_cents"])
    return OrderPlaced(
        occurred_at=datetime.now(timezone.utc),
        channel=Channel(channel),
        order_id=f"dash-{uuid.uuid4().hex[:16]}",
        customer_id=customer_id,
        store_id=store_id,
        lines=[OrderLine(sku=sku, quantity=int(quantity), unit_price_cents=price)],
    )


def dashboard_customer(user: str | None, settings: Settings) -> str:
    """Hand-entered sales are attributed to the (pseudonymised) dashboard user, never a raw name."""
    return pseudonymize(f"dashboard:{user or 'anonymous'}", settings.pseudonym_key.get_secret_value())


class OrderPublisher:
    """One Kafka producer for the process, created on first use so the dashboard starts without Kafka."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: EventProducer | None = None
        self._lock = threading.Lock()

    def publish(self, event: OrderPlaced) -> str:
        """Send and wait for the broker's acknowledgement; returns the event id."""
        try:
            with self._lock:
                if self._producer is None:
                    self._producer = EventProducer(
                        self.settings.kafka_bootstrap, self.settings.topics, client_id="shelfcast-dashboard"
                    )
                producer = self._producer
            producer.publish(event).get(timeout=ACK_TIMEOUT_S)
        except KafkaError as exc:
            raise PublishFailed(f"Kafka did not accept the sale ({type(exc).__name__}: {exc})") from exc
        return str(event.event_id)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
