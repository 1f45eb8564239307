"""The emulator's control plane under /_ips/: what IPS cannot do (reset, seed, time and
completion control, fault injection, the request journal, health, the dashboard)."""
