"""Paper portfolios: what following a source's published calls would have earned."""
