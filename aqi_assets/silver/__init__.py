"""Silver: typed, validated, deduplicated hours and the rows rejected with a reason."""
