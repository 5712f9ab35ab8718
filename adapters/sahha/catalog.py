"""The categories, types and names Sahha documents; the client asks for every category by default.

Biomarkers are requested by category alone, so a type Sahha adds comes with its category and is archived
as it comes; ``BIOMARKER_TYPES`` only tells the known types from new ones (counted in the client's stats).
"""

from __future__ import annotations

BIOMARKER_CATEGORIES: tuple[str, ...] = (
    "activity",
    "body",
    "characteristic",
    "reproductive",
    "sleep",
    "vitals",
    "exercise",
    "device",
    "nutrition",
    "engagement",
)

BIOMARKER_TYPES: tuple[str, ...] = (
    # activity
    "steps",
    "floors_climbed",
    "active_hours",
    "active_duration",
    "activity_low_intensity_duration",
    "activity_mid_intensity_duration",
    "activity_high_intensity_duration",
    "activity_sedentary_duration",
    "active_energy_burned",
    "total_energy_burned",
    # sleep
    "sleep_start_time",
    "sleep_end_time",
    "sleep_mid_time",
    "sleep_duration",
    "sleep_in_bed_duration",
    "sleep_awake_duration",
    "sleep_light_duration",
    "sleep_rem_duration",
    "sleep_deep_duration",
    "sleep_latency",
    "sleep_debt",
    "sleep_interruptions",
    "sleep_efficiency",
    "sleep_regularity",
    # vitals
    "heart_rate_resting",
    "heart_rate_sleep",
    "heart_rate_variability_sdnn",
    "heart_rate_variability_rmssd",
    "respiratory_rate",
    "respiratory_rate_sleep",
    "oxygen_saturation",
    "oxygen_saturation_sleep",
    "vo2_max",
    "blood_glucose",
    "blood_pressure_systolic",
    "blood_pressure_diastolic",
    "body_temperature_basal",
    "skin_temperature_sleep",
    # body
    "height",
    "weight",
    "body_mass_index",
    "body_fat",
    "fat_mass",
    "lean_mass",
    "waist_circumference",
    "resting_energy_burned",
)

SCORE_TYPES: tuple[str, ...] = ("sleep", "activity", "readiness", "wellbeing", "mental_wellbeing")

ARCHETYPE_NAMES: tuple[str, ...] = (
    "overall_wellness",
    "activity_level",
    "mental_wellness",
    "sleep_duration",
    "sleep_pattern",
    "bed_schedule",
    "wake_schedule",
    "sleep_quality",
    "sleep_efficiency",
)

SCORE_STATES: tuple[str, ...] = ("minimal", "low", "medium", "high")


def score_state(score: float) -> str:
    """Sahha's state word for a 0.0-1.0 score."""
    if score < 0.25:
        return "minimal"
    if score < 0.5:
        return "low"
    if score < 0.75:
        return "medium"
    return "high"


def is_listed(category: str, type_: str) -> bool:
    """Whether a biomarker's category and type are both in the lists above (else Sahha added it since)."""
    return category in _LISTED_CATEGORIES and type_ in _LISTED_TYPES


_LISTED_CATEGORIES = frozenset(BIOMARKER_CATEGORIES)
_LISTED_TYPES = frozenset(BIOMARKER_TYPES)
