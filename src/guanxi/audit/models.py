from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are append-only")

    def delete(self):
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    """An append-only record of who changed or exported what, and when."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # Plain ids, not foreign keys: deleting a user or customer must not rewrite history.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # Set when a person's data in `changes` and `extra` was erased (PIPL): the entry stays,
    # with field names and references, and says that values were removed.
    redacted_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the entry as written (audit.chain.entry_digest), and the chain over the
    # digests in id order, filled in by sealing (audit.chain.audit_seal): editing an entry,
    # or removing or inserting one, breaks `guanxi audit verify`.
    digest = models.CharField(max_length=64, blank=True, default="")
    chain = models.CharField(max_length=64, blank=True, default="", db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")
