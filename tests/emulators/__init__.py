"""Loopback emulators of the providers' documented APIs, for tests and the demo.

Not shipped in the built collection (galaxy.yml build_ignore).
"""
