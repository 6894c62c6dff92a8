"""Tracking: impressions of served lists, attribution of clicks and conversions, rates."""

from likewise.tracking.impressions import Impression, ImpressionLog
from likewise.tracking.report import Activity, RateRow, wilson

__all__ = ["Activity", "Impression", "ImpressionLog", "RateRow", "wilson"]
