"""Importing a home (tooling, like training): zigbee2mqtt or Home Assistant -> a catalog.

``octohome import zigbee2mqtt`` and ``octohome import homeassistant`` read what the
home has from its source (:mod:`.zigbee2mqtt`, :mod:`.homeassistant`) into an
:class:`~octohome.importing.home.ImportedHome`, and :mod:`.catalog_writer` turns
that into a catalog directory that ``Catalog.load`` takes as it is, or updates one
written before (ids kept, hand edits kept, changes reported).

The runtime never imports it (checked by the import contracts in pyproject.toml).
"""
