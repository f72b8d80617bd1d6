"""What the lakehouse holds: every table (registry) and every pollutant (catalogue), each once."""
