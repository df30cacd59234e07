"""Keep the revisions that key cached working calendars in step with every configuration change.

Signals rather than services because the admin pages, the CLI and data migrations all edit these rows;
a missed bump would leave a stale calendar computing wrong deadlines.
"""

from django.db.models import F
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from otklik.core.config_cache import config_forget
from otklik.sla.models import CalendarException, SlaLevel, Timetable


@receiver(pre_save, sender=Timetable)
def _timetable_changed(sender, instance: Timetable, **kwargs):
    if instance.pk is not None:
        instance.revision = (instance.revision or 0) + 1


def _bump_for(exception: CalendarException) -> None:
    if exception.timetable_id is not None:
        Timetable.objects.filter(pk=exception.timetable_id).update(revision=F("revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped
    if exception.pk is not None:
        SlaLevel.objects.filter(exceptions=exception).update(exceptions_revision=F("exceptions_revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped


@receiver(pre_save, sender=CalendarException)
def _exception_moving(sender, instance: CalendarException, **kwargs):
    # Moved to another timetable: the one it leaves must forget it too.
    if instance.pk is None:
        return
    previous = CalendarException.objects.filter(pk=instance.pk).values_list("timetable_id", flat=True).first()
    if previous is not None and previous != instance.timetable_id:
        Timetable.objects.filter(pk=previous).update(revision=F("revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped


@receiver(post_save, sender=CalendarException)
def _exception_saved(sender, instance: CalendarException, **kwargs):
    _bump_for(instance)


@receiver(pre_delete, sender=CalendarException)
def _exception_deleted(sender, instance: CalendarException, **kwargs):
    # Before the delete, while the SLA links still exist (cascades send no m2m_changed).
    _bump_for(instance)


@receiver(pre_save, sender=SlaLevel)
def _sla_saved(sender, instance: SlaLevel, **kwargs):
    if instance.pk is not None:
        instance.exceptions_revision = (instance.exceptions_revision or 0) + 1


@receiver(m2m_changed, sender=SlaLevel.exceptions.through)
def _sla_exceptions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        SlaLevel.objects.filter(pk=instance.pk).update(exceptions_revision=F("exceptions_revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped
        instance.exceptions_revision = (instance.exceptions_revision or 0) + 1
    elif action == "pre_clear":
        SlaLevel.objects.filter(exceptions=instance).update(exceptions_revision=F("exceptions_revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped
    else:
        SlaLevel.objects.filter(pk__in=pk_set or ()).update(exceptions_revision=F("exceptions_revision") + 1)
        config_forget()  # cached SLA levels hold the revisions just bumped
