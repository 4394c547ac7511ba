"""One module per page; Dash imports them when the app is built (see ``app.create_app``)."""
