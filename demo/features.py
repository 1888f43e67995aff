"""The demo's columns: imported by the generator and by the settings (the default drift alarms), so the two
can never disagree. Nothing here imports numpy: settings are read on every synth."""

from __future__ import annotations

#: The 8 features, in the order of the CSV rows the endpoint receives.
FEATURE_NAMES: tuple[str, ...] = (
    "passenger_count",
    "trip_distance",
    "pickup_hour",
    "pickup_weekday",
    "fare_amount",
    "extra",
    "tolls_amount",
    "total_amount",
)
#: The target: first column of train.csv and of baseline.csv (output_columns_position START).
TARGET_NAME = "tip_amount"
