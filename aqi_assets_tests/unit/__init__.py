"""Fast tests: pure functions, transforms on tiny frames, clients against the local server (`-m unit`)."""
