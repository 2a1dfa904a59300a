"""Record linkage and deduplication (đối sánh, hợp nhất hồ sơ) with a Splink model."""
