"""Keep the revisions that key cached working calendars in step with every configuration change, and
ask for open tickets' deadlines to be computed again when a change moves them (F-08).

Signals rather than services because the admin pages, the CLI and data migrations all edit these rows;
a missed bump would leave a stale calendar computing wrong deadlines.
"""

from django.db.models import F
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from otklik.core.config_cache import config_rows_changed
from otklik.sla.models import CalendarException, RecomputeReason, SlaLevel, Timetable
from otklik.sla.services import deadlines_recompute_request, sla_ids_using

# The SLA level's columns its tickets' deadlines depend on (besides its exceptions).
SLA_TIME_FIELDS = ("response_time", "response_unit", "reminder_time", "reminder_unit")
# The timetable's columns the working calendar depends on (its exceptions have their own signals).
TIMETABLE_FIELDS = ("week", "time_zone")


@receiver(pre_save, sender=Timetable)
def _timetable_changed(sender, instance: Timetable, **kwargs):
    if instance.pk is not None:
        instance.revision = (instance.revision or 0) + 1
        before = Timetable.objects.filter(pk=instance.pk).values(*TIMETABLE_FIELDS).first()
        if before is not None and any(before[f] != getattr(instance, f) for f in TIMETABLE_FIELDS):
            deadlines_recompute_request(
                sla_ids=sla_ids_using(timetable_ids=[instance.pk]), reason=RecomputeReason.TIMETABLE
            )


def _exception_recompute(exception: CalendarException, *timetable_ids) -> None:
    exception_id = exception.pk if exception.pk is not None else None
    ids = sla_ids_using(timetable_ids=[exception.timetable_id, *timetable_ids], exception_id=exception_id)
    deadlines_recompute_request(sla_ids=ids, reason=RecomputeReason.EXCEPTION)


def _bump_for(exception: CalendarException) -> None:
    if exception.timetable_id is not None:
        Timetable.objects.filter(pk=exception.timetable_id).update(revision=F("revision") + 1)
        config_rows_changed(Timetable)  # cached SLA levels hold the revisions just bumped
    if exception.pk is not None:
        SlaLevel.objects.filter(exceptions=exception).update(exceptions_revision=F("exceptions_revision") + 1)
        config_rows_changed(SlaLevel)  # cached SLA levels hold the revisions just bumped


@receiver(pre_save, sender=CalendarException)
def _exception_moving(sender, instance: CalendarException, **kwargs):
    # Moved to another timetable: the one it leaves must forget it too.
    if instance.pk is None:
        return
    previous = CalendarException.objects.filter(pk=instance.pk).values_list("timetable_id", flat=True).first()
    if previous is not None and previous != instance.timetable_id:
        Timetable.objects.filter(pk=previous).update(revision=F("revision") + 1)
        config_rows_changed(Timetable)  # cached SLA levels hold the revisions just bumped
        deadlines_recompute_request(
            sla_ids=sla_ids_using(timetable_ids=[previous]), reason=RecomputeReason.EXCEPTION
        )


@receiver(post_save, sender=CalendarException)
def _exception_saved(sender, instance: CalendarException, **kwargs):
    _bump_for(instance)
    _exception_recompute(instance)


@receiver(pre_delete, sender=CalendarException)
def _exception_deleted(sender, instance: CalendarException, **kwargs):
    # Before the delete, while the SLA links still exist (cascades send no m2m_changed).
    _bump_for(instance)
    _exception_recompute(instance)


@receiver(pre_save, sender=SlaLevel)
def _sla_saved(sender, instance: SlaLevel, **kwargs):
    if instance.pk is not None:
        instance.exceptions_revision = (instance.exceptions_revision or 0) + 1
        before = SlaLevel.objects.filter(pk=instance.pk).values(*SLA_TIME_FIELDS, "timetable_id").first()
        if before is None:
            return
        if before["timetable_id"] != instance.timetable_id:
            deadlines_recompute_request(sla_ids=[instance.pk], reason=RecomputeReason.SLA_TIMETABLE)
        elif any(before[f] != getattr(instance, f) for f in SLA_TIME_FIELDS):
            deadlines_recompute_request(sla_ids=[instance.pk], reason=RecomputeReason.SLA_TIMES)


@receiver(m2m_changed, sender=SlaLevel.exceptions.through)
def _sla_exceptions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        SlaLevel.objects.filter(pk=instance.pk).update(exceptions_revision=F("exceptions_revision") + 1)
        config_rows_changed(SlaLevel)  # cached SLA levels hold the revisions just bumped
        instance.exceptions_revision = (instance.exceptions_revision or 0) + 1
        deadlines_recompute_request(sla_ids=[instance.pk], reason=RecomputeReason.SLA_EXCEPTIONS)
    elif action == "pre_clear":
        SlaLevel.objects.filter(exceptions=instance).update(exceptions_revision=F("exceptions_revision") + 1)
        config_rows_changed(SlaLevel)  # cached SLA levels hold the revisions just bumped
        deadlines_recompute_request(
            sla_ids=sla_ids_using(exception_id=instance.pk), reason=RecomputeReason.SLA_EXCEPTIONS
        )
    else:
        SlaLevel.objects.filter(pk__in=pk_set or ()).update(exceptions_revision=F("exceptions_revision") + 1)
        config_rows_changed(SlaLevel)  # cached SLA levels hold the revisions just bumped
        deadlines_recompute_request(sla_ids=pk_set or (), reason=RecomputeReason.SLA_EXCEPTIONS)
