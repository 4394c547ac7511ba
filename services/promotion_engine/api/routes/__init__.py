"""HTTP routers, one module per resource; each maps requests onto the domain modules and nothing more."""
