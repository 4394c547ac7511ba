"""The Shelfcast dashboard: a multi-page Dash app over the MongoDB rollups and the two service APIs."""
