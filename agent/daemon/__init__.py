"""The edge of the agent: the only package that reads clocks, psutil, sockets and signals, so
everything it feeds (flows, names, lookups, verdicts) stays sans-IO and replayable."""
