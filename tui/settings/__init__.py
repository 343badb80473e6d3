"""Connection settings: the immutable model, config.toml, clouds.yaml, and which source wins."""
