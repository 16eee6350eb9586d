"""The service desk (issue 16). First part: the business calendar of service levels
(`guanxi.servicedesk.sla`), a pure module."""
