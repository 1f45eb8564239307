"""ips-jobs: an emulator of the Adobe Scene7 IPS job API."""

__version__ = "0.1.0"
