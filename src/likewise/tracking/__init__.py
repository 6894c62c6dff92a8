"""Tracking: impressions of served lists, attribution of clicks and conversions, rates."""

from likewise.tracking.impressions import Impression, ImpressionLog
from likewise.tracking.report import RateRow, wilson

__all__ = ["Impression", "ImpressionLog", "RateRow", "wilson"]
