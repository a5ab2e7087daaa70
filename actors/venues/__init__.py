"""Venues: the venue interface, the simulated venue with its faults and fill models, and room for real ones.

:mod:`~actors.venues._interface` is what the gateway needs from any venue
(the records its calls take and give are in :mod:`actors.core._exchange`);
:mod:`~actors.venues._simulated` is the deterministic venue of shadow runs,
:mod:`~actors.venues._faults` the fault injector in front of a venue,
:mod:`~actors.venues._fill_model` how a simulated venue fills,
:mod:`~actors.venues._recorded` a venue that journals what it did.
"""
