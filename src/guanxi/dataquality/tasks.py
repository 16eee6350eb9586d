"""Periodic and fire-and-forget jobs of the data-quality app. Imports and resolution
runs are durable work items (guanxi.core.work), registered in DataQualityConfig.ready()."""
