"""CRM's business rules, as functions over a Session; views, API and CLI only translate."""

from . import activities, deals, forecast, leads, pipeline, quotes

__all__ = ["activities", "deals", "forecast", "leads", "pipeline", "quotes"]
