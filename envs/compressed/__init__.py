"""``splitgym/CompressedSplit-v1``: split, Edge-LLM compression budget and answer mode on the v1 world."""
