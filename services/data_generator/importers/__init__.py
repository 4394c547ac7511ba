"""Historical orders from CSV files, validated completely before anything is published."""
