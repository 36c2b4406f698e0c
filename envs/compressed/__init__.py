"""``splitgym/CompressedSplit-v0``: the split, an Edge-LLM compression budget and the answer mode."""
