"""HTTP routes, one module per resource. Routes never import SQLAlchemy: reads go to the
store, status changes go through ``lifecycle``."""
