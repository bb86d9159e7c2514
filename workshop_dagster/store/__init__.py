"""Where the warehouse lives: the embedded DuckDB file (the default) or a shared DuckLake whose
catalog is in PostgreSQL (`lake`). `warehouse.connect` is the one door to either."""
