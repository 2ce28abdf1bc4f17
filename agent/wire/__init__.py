"""Sans-IO decoders over bytes: link layers, IP, transports and tunnels, in batches."""
