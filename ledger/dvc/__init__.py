"""DVC's files read without importing DVC, and data hashes checked exactly as DVC computes them."""
