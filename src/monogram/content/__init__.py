"""Content: brand kit, placements, guarded prompts, language models, generation."""
