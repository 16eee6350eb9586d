import datetime as dt

import pytest
from django.utils import timezone

from guanxi.automation import engine
from guanxi.automation.models import ActionDone, Run, RunStatus, StepLog
from guanxi.automation.services import (
    automation_archive,
    automation_enrol,
    automation_pause,
    automation_publish,
    automation_resume,
    automation_save,
)
from guanxi.automation.triggers import CONSUMER, read_events
from guanxi.core.errors import Conflict, InvalidInput
from guanxi.core.models import WorkItem, WorkState
from guanxi.core.work import work_drain
from guanxi.customers.models import CustomerTag
from guanxi.customers.services import event_record
from guanxi.testing import make_customer
from guanxi.timeline.cursors import cursor_open

pytestmark = pytest.mark.django_db

QUEUES = ["automation.step"]


def tags(customer):
    return set(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True))


def build(actor, steps, *, trigger="timeline.event", config=None, **kw):
    automation = automation_save(actor=actor, name=kw.pop("name", "Welcome"), trigger=trigger,
                                 trigger_config=config or {"kind": "order_placed"},
                                 steps=steps, **kw)
    automation_publish(actor=actor, automation=automation)
    return automation


def due_now():
    """Make every queued wake-up due (time passes)."""
    WorkItem.objects.filter(state=WorkState.QUEUED).update(run_after=timezone.now())


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_an_event_enters_the_customer_and_the_steps_act_once(personas):
    cursor_open(CONSUMER)
    customer = make_customer(personas.manager)
    automation = build(personas.manager, [
        {"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "买家"}},
        {"id": "w", "type": "wait", "days": 2},
        {"id": "b", "type": "action", "action": "customers.tag_add", "config": {"tag": "回访"}},
    ], config={"kind": "note", "conditions": []})
    event_record(customer=customer, kind="note", summary="hello")
    assert read_events() == 2  # customer_created, note
    assert work_drain(QUEUES) == 1
    run = Run.objects.get(automation=automation, customer=customer)
    assert run.status == RunStatus.WAITING and tags(customer) == {"买家"}
    assert run.next_at > timezone.now() + dt.timedelta(days=1, hours=23)
    due_now()
    assert work_drain(QUEUES) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and tags(customer) == {"买家", "回访"}
    # every executed action is on the timeline, naming the automation
    from guanxi.customers.models import Event
    acted = Event.objects.filter(customer=customer, kind="automation_action")
    assert acted.count() == 2 and all(e.data["name"] == "Welcome" for e in acted)
    assert ActionDone.objects.filter(run=run).count() == 2


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_event_conditions_filter_entries(personas):
    cursor_open(CONSUMER)
    a, b = make_customer(personas.manager), make_customer(personas.manager, full_name="李四")
    automation = build(personas.manager, [
        {"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "大单"}}],
        config={"kind": "custom.purchase",
                "conditions": [{"field": "amount", "operator": "gte", "value": 500}]})
    event_record(customer=a, kind="custom.purchase", data={"amount": 800})
    event_record(customer=b, kind="custom.purchase", data={"amount": 20})
    read_events()
    assert set(Run.objects.filter(automation=automation).values_list("customer_id", flat=True)
               ) == {a.pk}


def test_a_retried_step_never_acts_twice(personas, monkeypatch):
    customer = make_customer(personas.manager)
    automation = build(personas.manager, [
        {"id": "a", "type": "action", "action": "automation.log_note",
         "config": {"text": "welcome"}},
        {"id": "b", "type": "action", "action": "customers.tag_add", "config": {"tag": "x"}}],
        config={"kind": "note"})
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    # the worker dies after the first action: the whole step rolls back
    real = engine._Walk._action
    calls = []

    def dying(self, step):
        calls.append(step["id"])
        real(self, step)
        if step["id"] == "b" and len(calls) == 2:
            raise SystemExit("killed")

    monkeypatch.setattr(engine._Walk, "_action", dying)
    with pytest.raises(SystemExit):
        work_drain(QUEUES)
    assert not ActionDone.objects.exists() and not tags(customer)
    # the lease runs out; the next worker runs the step once
    WorkItem.objects.filter(queue="automation.step").update(lease_until=timezone.now()
                                                           - dt.timedelta(seconds=1))
    monkeypatch.setattr(engine._Walk, "_action", real)
    assert work_drain(QUEUES) == 1
    from guanxi.customers.models import Event
    assert Event.objects.filter(customer=customer, kind="automation_note").count() == 1
    assert ActionDone.objects.count() == 2 and tags(customer) == {"x"}


def test_branch_split_and_exit(personas):
    customer = make_customer(personas.manager, region="浙江省杭州市")
    automation = build(personas.manager, [
        {"id": "if", "type": "branch", "else": "no",
         "rules": {"field": "region", "operator": "contains", "value": "浙江"}},
        {"id": "yes", "type": "action", "action": "customers.tag_add", "config": {"tag": "浙江"}},
        {"id": "out", "type": "exit"},
        {"id": "no", "type": "action", "action": "customers.tag_add", "config": {"tag": "其他"}},
    ], config={"kind": "note"})
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    work_drain(QUEUES)
    run = Run.objects.get(customer=customer)
    assert run.status == RunStatus.EXITED and tags(customer) == {"浙江"}
    assert list(StepLog.objects.filter(run=run).values_list("step", "outcome")) == [
        ("if", "yes"), ("yes", "done"), ("out", "exit")]


def test_split_is_stable_and_has_a_holdout():
    paths = [{"percent": 50}, {"percent": 40}]
    picks = [engine.split_path(i, "s", paths) for i in range(2000)]
    assert picks == [engine.split_path(i, "s", paths) for i in range(2000)]
    share = {p: picks.count(p) / 2000 for p in (0, 1, None)}
    assert abs(share[0] - 0.5) < 0.05 and abs(share[1] - 0.4) < 0.05
    assert abs(share[None] - 0.1) < 0.03


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_wait_for_event_goes_on_when_it_comes_or_times_out(personas):
    cursor_open(CONSUMER)
    buyer, idle = make_customer(personas.manager), make_customer(personas.manager,
                                                                   full_name="王五")
    automation = build(personas.manager, [
        {"id": "w", "type": "wait_event", "kind": "call", "days": 7, "timeout": "late"},
        {"id": "ok", "type": "action", "action": "customers.tag_add", "config": {"tag": "回电"}},
        {"id": "end", "type": "exit"},
        {"id": "late", "type": "action", "action": "customers.tag_add",
         "config": {"tag": "未回电"}},
    ], config={"kind": "note"})
    for c in (buyer, idle):
        automation_enrol(actor=personas.manager, automation=automation, customer=c)
    work_drain(QUEUES)
    event_record(customer=buyer, kind="call", summary="called back")
    read_events()
    work_drain(QUEUES)
    assert tags(buyer) == {"回电"} and not tags(idle)
    due_now()
    work_drain(QUEUES)  # the idle customer's timeout; the buyer's stale timeout does nothing
    assert tags(buyer) == {"回电"} and tags(idle) == {"未回电"}


def test_goal_ends_the_run(personas):
    customer = make_customer(personas.manager)
    automation = build(personas.manager, [
        {"id": "w", "type": "wait", "days": 1},
        {"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "催单"}},
    ], config={"kind": "note"}, goal={"field": "tag", "operator": "has", "value": "已购"})
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    work_drain(QUEUES)
    from guanxi.customers.services import tag_add
    tag_add(actor=personas.manager, customer=customer, name="已购")
    due_now()
    work_drain(QUEUES)
    assert Run.objects.get(customer=customer).status == RunStatus.GOAL
    assert tags(customer) == {"已购"}


def test_reentry_policy_and_versions(personas):
    customer = make_customer(personas.manager)
    steps = [{"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "a"}}]
    automation = build(personas.manager, steps, config={"kind": "note"})
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    work_drain(QUEUES)
    with pytest.raises(Conflict):  # never: once only
        automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    automation = automation_save(actor=personas.manager, automation=automation, name="Welcome",
                                 trigger="timeline.event", trigger_config={"kind": "note"},
                                 steps=[{**steps[0], "config": {"tag": "b"}}],
                                 reentry="always")
    first_version = automation.live
    v2 = automation_publish(actor=personas.manager, automation=automation)
    assert v2.number == 2 and first_version.number == 1
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    work_drain(QUEUES)
    assert tags(customer) == {"a", "b"}
    assert list(Run.objects.filter(customer=customer).order_by("occurrence")
                .values_list("version__number", flat=True)) == [1, 2]


def test_pause_holds_and_archive_ends(personas):
    customer = make_customer(personas.manager)
    automation = build(personas.manager, [
        {"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "a"}}],
        config={"kind": "note"})
    automation_enrol(actor=personas.manager, automation=automation, customer=customer)
    automation_pause(actor=personas.manager, automation=automation)
    work_drain(QUEUES)
    assert not tags(customer) and Run.objects.get().status == RunStatus.ACTIVE
    automation_resume(actor=personas.manager, automation=automation)
    due_now()
    work_drain(QUEUES)
    assert tags(customer) == {"a"}
    automation_archive(actor=personas.manager, automation=automation)
    with pytest.raises(Conflict):
        automation_archive(actor=personas.manager, automation=automation)


def test_definition_errors_name_their_place(personas):
    with pytest.raises(InvalidInput) as caught:
        automation_save(actor=personas.manager, name="", trigger="timeline.event",
                        trigger_config={"kind": "nope"}, steps=[
                            {"id": "a", "type": "action", "action": "customers.tag_add",
                             "config": {}},
                            {"id": "b", "type": "branch", "rules": {"field": "x"},
                             "else": "a"},
                            {"id": "c", "type": "wait", "days": 0}])
    fields = {e.field for e in caught.value.errors}
    assert {"name", "trigger_config.kind", "steps.0.config.tag", "steps.1.else",
            "steps.2.days"} <= fields
    assert any(f.startswith("steps.1.rules") for f in fields)


def test_roles_that_cannot_manage_are_refused(personas):
    from django.core.exceptions import PermissionDenied
    with pytest.raises(PermissionDenied):
        automation_save(actor=personas.sales, name="x", trigger="timeline.event",
                        trigger_config={"kind": "note"},
                        steps=[{"id": "e", "type": "exit"}])


def test_dry_run_has_no_side_effects(personas):
    customer = make_customer(personas.manager, region="北京市")
    automation = build(personas.manager, [
        {"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "a"}},
        {"id": "w", "type": "wait", "days": 3},
        {"id": "if", "type": "branch", "else": "exit",
         "rules": {"field": "region", "operator": "contains", "value": "北京"}},
        {"id": "b", "type": "action", "action": "customers.tag_add", "config": {"tag": "b"}},
    ], config={"kind": "note"})
    trace = engine.dry_run(automation.live, customer)
    assert [(t["step"], t["outcome"]) for t in trace] == [
        ("a", "would_do"), ("w", "would_wait"), ("if", "yes"), ("b", "would_do"),
        ("", "completed")]
    assert not tags(customer) and not Run.objects.exists() and not StepLog.objects.exists()


def test_the_demo_automations_are_valid_and_load_once(personas):
    from guanxi.automation.demo import demo_automations
    from guanxi.automation.models import Automation
    assert demo_automations(actor=personas.admin) == 4
    assert demo_automations(actor=personas.admin) == 0
    assert Automation.objects.filter(status="active").count() == 4
