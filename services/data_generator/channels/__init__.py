"""Selling channels' native order formats, and adapters that normalize them into common events.

The simulator renders each sale in its channel's own format and parses it back through the same
adapter external data would use, so the adapters are exercised by every generated order.
"""

from services.data_generator.channels.errors import AdapterError
from services.data_generator.channels.marketplace import MarketplaceAdapter
from services.data_generator.channels.online import OnlineShopAdapter
from services.data_generator.channels.pos import PosAdapter
from services.data_generator.channels.sale import Sale, SaleLine

__all__ = ["AdapterError", "MarketplaceAdapter", "OnlineShopAdapter", "PosAdapter", "Sale", "SaleLine"]
