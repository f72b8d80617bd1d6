"""EPA AQI categories with their official colours, for pages and summaries."""

from __future__ import annotations

from dataclasses import dataclass

from aqi_assets.transforms.aqi.epa_pm25 import AQI_CATEGORIES

# The colours of the EPA's Technical Assistance Document (2024), by category name.
EPA_COLOURS = {
    "Good": "#00e400",
    "Moderate": "#ffff00",
    "Unhealthy for Sensitive Groups": "#ff7e00",
    "Unhealthy": "#ff0000",
    "Very Unhealthy": "#8f3f97",
    "Hazardous": "#7e0023",
}
NO_DATA_COLOUR = "#e4e4e4"
# Text stays readable on the light bands in black and on the dark ones in white.
_DARK_BANDS = {"Unhealthy", "Very Unhealthy", "Hazardous"}


@dataclass(frozen=True)
class Category:
    """One AQI band: name, index range and colours."""

    name: str
    low: int
    high: int

    @property
    def colour(self) -> str:
        """Its EPA colour."""
        return EPA_COLOURS[self.name]

    @property
    def text_colour(self) -> str:
        """A text colour readable on `colour`."""
        return "#ffffff" if self.name in _DARK_BANDS else "#111111"

    @property
    def short(self) -> str:
        """A short label (USG for sensitive groups)."""
        return "USG" if self.name == "Unhealthy for Sensitive Groups" else self.name


CATEGORIES: tuple[Category, ...] = tuple(Category(*band) for band in AQI_CATEGORIES)


def category_of(aqi: float | None) -> Category | None:
    """The category of an AQI value; None for a missing value."""
    if aqi is None:
        return None
    for category in CATEGORIES:
        if aqi <= category.high:
            return category
    return CATEGORIES[-1]  # above MAX_AQI the index is capped at Hazardous


def colour_of(aqi: float | None) -> str:
    """The EPA colour of an AQI value, grey when missing."""
    category = category_of(aqi)
    return NO_DATA_COLOUR if category is None else category.colour
