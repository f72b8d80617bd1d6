"""Air-quality indices as Spark columns and windows, with their exact Python reference."""
