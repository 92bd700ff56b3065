"""A tiny but complete plugin for a fake "Example ATS", built only from SDK parts.

It is the contract kit's reference (the kit's own tests break it on purpose) and the source
the scaffold copies for a new plugin, so it doubles as the smallest worked example.
"""
