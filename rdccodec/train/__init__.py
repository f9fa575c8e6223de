"""Training recipe: stage I (primary branch, cognition loss) and stage II (residual layers)."""
