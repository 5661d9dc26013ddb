"""The quality gate: every output is checked before anyone sees it."""
