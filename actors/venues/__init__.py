"""Venues: the venue interface, the simulated venue with its faults and fill models, and room for real ones.

:mod:`~actors.venues.interface` is what the gateway needs from any venue
(the records its calls take and give are in :mod:`actors.core.exchange`);
:mod:`~actors.venues.simulated` is the deterministic venue of shadow runs,
:mod:`~actors.venues.faults` the fault injector in front of a venue,
:mod:`~actors.venues.fill_model` how a simulated venue fills,
:mod:`~actors.venues.recorded` a venue that journals what it did.
"""
