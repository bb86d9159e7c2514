"""Runs whose process died give back their pool slots (see `run_guard`)."""

from ...platform.run_guard import build_run_guard_sensor

dead_run_sensor = build_run_guard_sensor()
