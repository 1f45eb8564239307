"""The job engine: fires schedules, runs jobs through their states, writes their logs."""
