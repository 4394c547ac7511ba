"""The simulated shop's assortment: categories, sub-categories and their SKUs.

The catalog is the same for every seed (it is the shop, not the weather): a SKU id always names the
same product, so runs with different seeds can share a database without contradicting each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class SubCategory:
    name: str
    code: str
    nouns: tuple[str, ...]
    price_dollars: tuple[int, int]  # shelf prices are drawn in this range and end in .99 or .49


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    brands: tuple[str, ...]
    variants: tuple[str, ...]
    subcategories: tuple[SubCategory, ...]
    season_peak_day: int  # day of year with the most demand
    season_amplitude: float  # 0 = flat year, 0.6 = peak month sells ~4x the trough


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    sub_category: str
    price_cents: int
    cost_cents: int
    reorder_threshold: int
    popularity: float  # relative share of its category's demand
    trend_per_year: float  # demand growth per simulated year, e.g. 0.3 = +30 %


SKUS_PER_SUBCATEGORY = 7

CATEGORIES: tuple[Category, ...] = (
    Category(
        "Grocery",
        "GRO",
        ("Harvest Lane", "Golden Acre", "Pantry Pal", "Brookfield"),
        ("12 oz", "Family Size", "6-Pack", "Organic", "Family Pack", "Low Sodium"),
        (
            SubCategory(
                "Snacks", "SNK", ("Tortilla Chips", "Trail Mix", "Pretzels", "Granola Bars", "Popcorn"), (2, 7)
            ),
            SubCategory(
                "Beverages",
                "BEV",
                ("Sparkling Water", "Cold Brew Coffee", "Iced Tea", "Orange Juice", "Sports Drink"),
                (2, 9),
            ),
            SubCategory(
                "Pantry", "PAN", ("Pasta Sauce", "Olive Oil", "Basmati Rice", "Peanut Butter", "Chicken Broth"), (3, 14)
            ),
            SubCategory(
                "Breakfast",
                "BRK",
                ("Rolled Oats", "Honey Granola", "Pancake Mix", "Maple Syrup", "Corn Flakes"),
                (3, 10),
            ),
        ),
        200,
        0.05,
    ),
    Category(
        "Household",
        "HOU",
        ("CleanCrest", "Everfresh", "HomeBasics", "Sparkwell"),
        ("Lemon", "Unscented", "Value Pack", "Refill", "Lavender", "Large"),
        (
            SubCategory(
                "Cleaning",
                "CLN",
                ("All-Purpose Cleaner", "Glass Cleaner", "Scrub Sponges", "Disinfecting Wipes", "Floor Cleaner"),
                (3, 12),
            ),
            SubCategory(
                "Paper Goods",
                "PAP",
                ("Paper Towels", "Bath Tissue", "Facial Tissues", "Paper Napkins", "Paper Plates"),
                (4, 24),
            ),
            SubCategory(
                "Laundry",
                "LAU",
                ("Laundry Detergent", "Fabric Softener", "Stain Remover", "Dryer Sheets", "Laundry Pods"),
                (5, 22),
            ),
            SubCategory(
                "Storage",
                "STO",
                ("Storage Bins", "Zip Bags", "Food Containers", "Vacuum Bags", "Drawer Organizer"),
                (4, 30),
            ),
        ),
        90,
        0.15,
    ),
    Category(
        "Personal Care",
        "PER",
        ("Purely", "Dermacare", "Fresh Day", "Northwood"),
        ("Travel Size", "Sensitive", "2-Pack", "Mint", "Fragrance Free", "Men's"),
        (
            SubCategory(
                "Hair Care", "HAI", ("Shampoo", "Conditioner", "Hair Mask", "Dry Shampoo", "Styling Gel"), (4, 16)
            ),
            SubCategory(
                "Oral Care",
                "ORA",
                ("Toothpaste", "Electric Toothbrush Heads", "Mouthwash", "Dental Floss", "Whitening Strips"),
                (3, 35),
            ),
            SubCategory(
                "Skin Care", "SKI", ("Moisturizer", "Sunscreen SPF 50", "Body Lotion", "Face Wash", "Lip Balm"), (3, 28)
            ),
            SubCategory(
                "Shaving",
                "SHA",
                ("Razor Blades", "Shaving Gel", "Aftershave Balm", "Disposable Razors", "Beard Oil"),
                (4, 30),
            ),
        ),
        170,
        0.10,
    ),
    Category(
        "Electronics",
        "ELE",
        ("Voltra", "Sonique", "Linkup", "Pixelcore"),
        ("Black", "White", "USB-C", "Wireless", "Pro", "Mini"),
        (
            SubCategory(
                "Headphones",
                "HPH",
                ("Earbuds", "Over-Ear Headphones", "Sport Earphones", "Noise Cancelling Headset", "Kids Headphones"),
                (15, 180),
            ),
            SubCategory(
                "Chargers & Cables",
                "CHG",
                ("Wall Charger", "Charging Cable", "Power Bank", "Car Charger", "Wireless Charging Pad"),
                (9, 60),
            ),
            SubCategory(
                "Smart Home",
                "SMH",
                ("Smart Plug", "Smart Bulb", "Video Doorbell", "Thermostat", "Motion Sensor"),
                (15, 200),
            ),
            SubCategory(
                "Computer Accessories",
                "CMP",
                ("Wireless Mouse", "Keyboard", "USB Hub", "Webcam", "Laptop Stand"),
                (12, 120),
            ),
        ),
        340,
        0.35,
    ),
    Category(
        "Home & Kitchen",
        "HOM",
        ("Casa Verde", "Hearthstone", "Kitchenly", "Oak & Linen"),
        ("Stainless", "Ceramic", "Set of 4", "Queen", "Charcoal", "Ivory"),
        (
            SubCategory(
                "Cookware", "COO", ("Frying Pan", "Stock Pot", "Dutch Oven", "Sauce Pan", "Baking Sheet"), (15, 120)
            ),
            SubCategory(
                "Tableware",
                "TAB",
                ("Dinner Plates", "Coffee Mugs", "Wine Glasses", "Cutlery Set", "Serving Bowl"),
                (10, 70),
            ),
            SubCategory(
                "Small Appliances",
                "APP",
                ("Toaster", "Electric Kettle", "Blender", "Coffee Maker", "Air Fryer"),
                (25, 160),
            ),
            SubCategory(
                "Bedding",
                "BED",
                ("Duvet Cover", "Pillow", "Fitted Sheet", "Throw Blanket", "Mattress Protector"),
                (15, 110),
            ),
        ),
        330,
        0.25,
    ),
    Category(
        "Toys & Games",
        "TOY",
        ("Playmore", "BrightMinds", "Tinker Town", "Jumpstart"),
        ("Deluxe", "Travel Edition", "Ages 3+", "Junior", "Classic", "Starter Set"),
        (
            SubCategory(
                "Board Games",
                "BRD",
                ("Strategy Game", "Party Game", "Card Game", "Trivia Game", "Cooperative Game"),
                (10, 55),
            ),
            SubCategory(
                "Building Sets",
                "BLD",
                ("Brick Set", "Magnetic Tiles", "Robot Kit", "Marble Run", "Castle Set"),
                (15, 120),
            ),
            SubCategory(
                "Outdoor Play",
                "OUT",
                ("Water Blaster", "Kick Scooter", "Frisbee", "Bubble Machine", "Jump Rope"),
                (6, 80),
            ),
            SubCategory(
                "Puzzles",
                "PUZ",
                ("1000-Piece Puzzle", "3D Puzzle", "Floor Puzzle", "Brain Teaser", "Wooden Puzzle"),
                (8, 35),
            ),
        ),
        352,
        0.60,
    ),
    Category(
        "Garden & Outdoor",
        "GAR",
        ("GreenThumb", "Backyard Co", "Terra", "Sunridge"),
        ("Terracotta", "Large", "Solar", "Cedar", "Compact", "Set of 3"),
        (
            SubCategory(
                "Planters", "PLA", ("Planter Pot", "Raised Bed", "Hanging Basket", "Window Box", "Seed Tray"), (8, 90)
            ),
            SubCategory(
                "Garden Tools",
                "GTL",
                ("Pruning Shears", "Garden Hose", "Hand Trowel", "Leaf Rake", "Watering Can"),
                (8, 60),
            ),
            SubCategory(
                "Grills",
                "GRL",
                ("Charcoal Grill", "Grill Brush", "Grill Cover", "Smoker Chips", "Grill Thermometer"),
                (8, 250),
            ),
            SubCategory(
                "Outdoor Lighting", "LIT", ("String Lights", "Path Lights", "Lantern", "Flood Light", "Torch"), (10, 70)
            ),
        ),
        160,
        0.55,
    ),
    Category(
        "Office Supplies",
        "OFF",
        ("Scribe", "Deskline", "Paperworks", "Inkwell"),
        ("Blue", "Black", "12-Pack", "Letter Size", "Recycled", "Assorted"),
        (
            SubCategory(
                "Paper", "PPR", ("Copy Paper", "Sticky Notes", "Spiral Notebook", "Index Cards", "Legal Pads"), (2, 45)
            ),
            SubCategory(
                "Writing",
                "WRT",
                ("Gel Pens", "Highlighters", "Mechanical Pencils", "Permanent Markers", "Fountain Pen"),
                (3, 40),
            ),
            SubCategory(
                "Binders",
                "BND",
                ("Ring Binder", "Sheet Protectors", "Tab Dividers", "Presentation Folder", "Report Covers"),
                (3, 25),
            ),
            SubCategory(
                "Desk Organizers",
                "DSK",
                ("Desk Tray", "Pen Cup", "File Sorter", "Monitor Riser", "Drawer Tray"),
                (6, 50),
            ),
        ),
        235,
        0.30,
    ),
)


@lru_cache(maxsize=1)
def build_catalog() -> tuple[Product, ...]:
    """Every SKU with price, cost and reorder threshold; cached because it never changes."""
    rng = random.Random("shelfcast-catalog-v1")
    products: list[Product] = []
    names: set[str] = set()
    for category in CATEGORIES:
        for sub in category.subcategories:
            for number in range(1, SKUS_PER_SUBCATEGORY + 1):
                name = _unique_name(rng, category, sub, names)
                dollars = rng.randint(*sub.price_dollars)
                price = dollars * 100 + rng.choice((-1, -51)) if dollars > 1 else 99
                cost = price * rng.randint(45, 75) // 100  # cost is 45–75 % of price, so always below it
                products.append(
                    Product(
                        sku=f"{category.code}-{sub.code}-{number:03d}",
                        name=name,
                        category=category.name,
                        sub_category=sub.name,
                        price_cents=price,
                        cost_cents=cost,
                        reorder_threshold=rng.randint(4, 12) if dollars < 40 else rng.randint(2, 6),
                        popularity=rng.lognormvariate(0.0, 0.7),
                        trend_per_year=round(rng.uniform(-0.25, 0.45), 3),
                    )
                )
    return tuple(products)


def _unique_name(rng: random.Random, category: Category, sub: SubCategory, taken: set[str]) -> str:
    """Brand + noun + variant, redrawn until unused, so product names identify products."""
    while True:
        name = f"{rng.choice(category.brands)} {rng.choice(sub.nouns)}, {rng.choice(category.variants)}"
        if name not in taken:
            taken.add(name)
            return name
