"""Markets a run trades on: a synthetic random walk, recorded files (Tardis, Binance), the packaged sample.

Everything that reads or makes market data lives here, and room is left for
live feeds.  A market gives mids and events; it never sees an order.
"""
