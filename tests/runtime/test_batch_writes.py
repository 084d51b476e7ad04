"""The store's batch writers (append_turns, add_steps, add_events): each writes exactly the
rows as many single calls write (columns, ids, times, the turn hours rollup, search), and
one value a single call would refuse refuses the whole batch, naming its place, with
nothing written."""

import re

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from memory_app.errors import InvalidInput, NotFound, StoreError
from memory_app.models import Turn, WorkflowStep
from memory_app.runtime.models import EventType, Role, StepStatus, TriggerSource
from memory_app.store import RuntimeMemoryStore
from tests.helpers import TEST_NOW

pytestmark = pytest.mark.django_db

store = RuntimeMemoryStore()
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# --- drawn values ------------------------------------------------------------------------

# Text every engine holds (PostgreSQL refuses NUL; no lone surrogates).
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
names = texts.filter(str.strip)
times = st.none() | st.sampled_from(
    ["2026-11-24T08:59:00Z", "2026-11-24 10:00:00.5+01:00", "20261124T0101", "2025-01-01"]
)
objects = st.none() | st.dictionaries(names, st.integers(-5, 5) | texts, max_size=3)
ids = st.none() | st.uuids().map(str)


def given_values(draw_values):
    """Keyword values as a caller gives them: a key left out when it is None."""
    return draw_values.map(lambda v: {k: x for k, x in v.items() if x is not None})


turns = given_values(
    st.fixed_dictionaries({
        "role": st.sampled_from(Role.values), "content": texts,
        "token_count": st.none() | st.integers(0, 2**40), "metadata": objects,
        "created_at": times, "turn_id": ids,
    })
)  # fmt: skip
steps = given_values(
    st.fixed_dictionaries({
        "step_name": names, "status": st.none() | st.sampled_from(StepStatus.values),
        "details": objects, "started_at": times, "finished_at": times, "step_id": ids,
    })
)  # fmt: skip


def distinct_ids(key: str):
    return lambda item: item.get(key) or object()


def rolled_back(write):
    """What ``write`` returns, with everything it wrote rolled back after."""
    with transaction.atomic():
        found = write()
        transaction.set_rollback(True)
    return found


def rows(table: str, ids: list[str], given: set) -> list[dict]:
    """The rows of these ids, in their order; an id the store made reads as "made"."""
    found = []
    with connection.cursor() as cursor:
        for pk in ids:
            cursor.execute(f'SELECT * FROM "{table}" WHERE id = %s', [pk])
            (row,) = cursor.fetchall()
            found.append(dict(zip([c[0] for c in cursor.description], row, strict=True)))
    for row in found:
        if row["id"] not in given:
            assert UUID7.match(row["id"]), row["id"]
            row["id"] = "made"
    return found


def turn_hours() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tommemory_turn_hours ORDER BY 1, 2")
        return cursor.fetchall()


# --- the rows a batch writes --------------------------------------------------------------


@given(
    before=st.integers(0, 3), values=st.lists(turns, max_size=6, unique_by=distinct_ids("turn_id"))
)
def test_append_turns_writes_the_rows_append_turn_writes(clock, before, values):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v["turn_id"] for v in values if "turn_id" in v}

    def write(batch: bool):
        session = store.start_session("tom", session_id="s-1")
        for n in range(before):
            store.append_turn(session.id, "user", f"earlier {n}", turn_id=f"earlier-{n}")
        if batch:
            written = store.append_turns(session.id, values)
        else:
            written = [store.append_turn(session.id, **v) for v in values]
        made = [turn.pk for turn in written]
        ours = [pk for pk in made if pk not in given_ids]
        assert ours == sorted(ours)  # UUIDv7s, made in the turns' order
        return (
            [t.turn_index for t in written],
            rows("conversation_turns", made, given_ids),
            turn_hours(),
        )

    singles = rolled_back(lambda: write(batch=False))
    assert rolled_back(lambda: write(batch=True)) == singles
    assert singles[0] == list(range(before, before + len(values)))


@given(
    before=st.integers(0, 2), values=st.lists(steps, max_size=6, unique_by=distinct_ids("step_id"))
)
def test_add_steps_writes_the_rows_add_step_and_finish_step_write(clock, before, values):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v["step_id"] for v in values if "step_id" in v}

    def single(run_id: str, value: dict) -> WorkflowStep:
        value = dict(value)
        finished_at = value.pop("finished_at", None)
        step = store.add_step(run_id, **value)
        if finished_at is None:
            return step
        status = value.get("status", StepStatus.RUNNING)
        return store.finish_step(step.pk, status=status, finished_at=finished_at)

    def write(batch: bool):
        run = store.start_workflow_run("w", trigger_source="agent", initiated_by="t", run_id="r-1")
        for n in range(before):
            store.add_step(run.pk, f"earlier {n}", step_id=f"earlier-{n}")
        written = store.add_steps(run.pk, values) if batch else [single(run.pk, v) for v in values]
        made = [step.pk for step in written]
        return [s.step_index for s in written], rows("workflow_steps", made, given_ids)

    singles = rolled_back(lambda: write(batch=False))
    assert rolled_back(lambda: write(batch=True)) == singles
    assert singles[0] == list(range(before, before + len(values)))


session_starts = given_values(
    st.fixed_dictionaries({
        "actor": names, "channel": st.none() | names, "metadata": objects, "started_at": times,
        "session_id": ids,
    })
)  # fmt: skip
run_starts = given_values(
    st.fixed_dictionaries({
        "workflow_name": names, "trigger_source": st.sampled_from(TriggerSource.values),
        "initiated_by": names, "status": st.none() | st.sampled_from(["queued", "running"]),
        "context": objects, "started_at": times, "run_id": ids,
    })
)  # fmt: skip


@given(
    sessions=st.lists(session_starts, max_size=5, unique_by=distinct_ids("session_id")),
    runs=st.lists(run_starts, max_size=5, unique_by=distinct_ids("run_id")),
)
def test_starting_sessions_and_runs_writes_the_rows_the_single_calls_write(clock, sessions, runs):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v.get("session_id") for v in sessions} | {v.get("run_id") for v in runs}

    def write(batch: bool):
        if batch:
            made = store.start_sessions(sessions), store.start_workflow_runs(runs)
        else:
            made = (
                [store.start_session(**v) for v in sessions],
                [store.start_workflow_run(**v) for v in runs],
            )
        return (
            rows("sessions", [s.pk for s in made[0]], given_ids),
            rows("workflow_runs", [r.pk for r in made[1]], given_ids),
        )

    assert rolled_back(lambda: write(batch=True)) == rolled_back(lambda: write(batch=False))


FINISHES = st.fixed_dictionaries(
    {"run_id": st.sampled_from(["r-1", "r-2"]),
     "status": st.sampled_from(["failed", "succeeded", "aborted"]), "finished_at": times},
)  # fmt: skip


@given(finishes=st.lists(given_values(FINISHES), max_size=4))
def test_finishing_runs_writes_what_finish_workflow_run_writes_in_turn(clock, finishes):
    clock.set(TEST_NOW, ticking=False)

    def write(batch: bool):
        for run_id in ("r-1", "r-2"):
            store.start_workflow_run("w", trigger_source="cron", initiated_by="t", run_id=run_id)
        if batch:
            written = store.finish_workflow_runs(finishes)
        else:
            written = [store.finish_workflow_run(**v) for v in finishes]
        return [bulk_row(r) for r in written], rows("workflow_runs", ["r-1", "r-2"], {"r-1", "r-2"})

    assert rolled_back(lambda: write(batch=True)) == rolled_back(lambda: write(batch=False))


def bulk_row(row) -> dict:
    return {f.column: getattr(row, f.attname) for f in row._meta.concrete_fields}


@given(values=st.lists(
    st.tuples(st.sampled_from(["s-1", "s-2"]), turns), max_size=8,
    unique_by=lambda pair: pair[1].get("turn_id") or object(),
))  # fmt: skip
def test_turns_across_sessions_are_the_rows_append_turn_writes(clock, values):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v["turn_id"] for _, v in values if "turn_id" in v}

    def write(batch: bool):
        for session_id in ("s-1", "s-2"):
            store.start_session("tom", session_id=session_id)
            store.append_turn(session_id, "user", "earlier")
        if batch:
            written = store.append_turns_across([v | {"session_id": s} for s, v in values])
        else:
            written = [store.append_turn(s, **v) for s, v in values]
        made = [turn.pk for turn in written]
        return rows("conversation_turns", made, given_ids), turn_hours()

    assert rolled_back(lambda: write(batch=True)) == rolled_back(lambda: write(batch=False))


@given(values=st.lists(
    st.tuples(st.sampled_from(["r-1", "r-2"]), steps), max_size=8,
    unique_by=lambda pair: pair[1].get("step_id") or object(),
))  # fmt: skip
def test_steps_across_runs_are_the_rows_add_step_and_finish_step_write(clock, values):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v["step_id"] for _, v in values if "step_id" in v}

    def single(run_id: str, value: dict) -> WorkflowStep:
        value = dict(value)
        finished_at = value.pop("finished_at", None)
        step = store.add_step(run_id, **value)
        if finished_at is None:
            return step
        status = value.get("status", StepStatus.RUNNING)
        return store.finish_step(step.pk, status=status, finished_at=finished_at)

    def write(batch: bool):
        for run_id in ("r-1", "r-2"):
            store.start_workflow_run("w", trigger_source="cron", initiated_by="t", run_id=run_id)
        if batch:
            written = store.add_steps_across([v | {"run_id": r} for r, v in values])
        else:
            written = [single(r, v) for r, v in values]
        return rows("workflow_steps", [step.pk for step in written], given_ids)

    assert rolled_back(lambda: write(batch=True)) == rolled_back(lambda: write(batch=False))


def event_values(links):
    return given_values(
        st.fixed_dictionaries({
            "event_type": st.sampled_from(EventType.values),
            "event_level": st.sampled_from(["low", "medium", "high", "critical"]),
            "message": names, "payload": objects, "created_at": times, "event_id": ids,
        }).flatmap(lambda v: links.map(lambda link: v | link))
    )  # fmt: skip


# An event of run r-1, of its steps, of both, or of neither.
LINKS = st.sampled_from([
    {}, {"run_id": "r-1"}, {"step_id": "s-0"}, {"step_id": "s-1"},
    {"run_id": "r-1", "step_id": "s-1"},
])  # fmt: skip


@given(values=st.lists(event_values(LINKS), max_size=6, unique_by=distinct_ids("event_id")))
def test_add_events_writes_the_rows_add_event_writes(clock, values):
    clock.set(TEST_NOW, ticking=False)
    given_ids = {v["event_id"] for v in values if "event_id" in v}

    def write(batch: bool):
        run = store.start_workflow_run("w", trigger_source="agent", initiated_by="t", run_id="r-1")
        store.add_steps(
            run.pk, [{"step_name": "a", "step_id": "s-0"}, {"step_name": "b", "step_id": "s-1"}]
        )
        written = store.add_events(values) if batch else [store.add_event(**v) for v in values]
        return rows("task_events", [e.pk for e in written], given_ids)

    assert rolled_back(lambda: write(batch=True)) == rolled_back(lambda: write(batch=False))


def test_turns_a_batch_appends_are_found_by_search_as_single_ones_are(store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "Où est le colis?")
    store.append_turns(
        session.id,
        [{"role": "assistant", "content": "Le colis est à Lyon."},
         {"role": "user", "content": "Et le résumé du colis?"}],
    )  # fmt: skip
    assert sorted(Turn.objects.search("colis").values_list("turn_index", flat=True)) == [0, 1, 2]
    assert list(Turn.objects.search("resume").values_list("turn_index", flat=True)) == [2]


def test_a_batch_of_none_writes_nothing_but_its_parent_must_exist(store):
    session = store.start_session("tom")
    assert store.append_turns(session.id, []) == []
    assert store.add_events([]) == []
    with pytest.raises(NotFound, match="no sessions row with id 'gone'"):
        store.append_turns("gone", [])
    with pytest.raises(NotFound, match="no workflow_runs row with id 'gone'"):
        store.add_steps("gone", [{"step_name": "x"}])


# --- refusals: the whole batch, naming the bad item ----------------------------------------

BAD_TURNS = [
    {"role": "robot", "content": "x"},
    {"role": "user", "content": 7},
    {"role": "user", "content": "x", "token_count": -1},
    {"role": "user", "content": "x", "token_count": True},
    {"role": "user", "content": "x", "metadata": "[1, 2]"},
    {"role": "user", "content": "x", "created_at": "soon"},
    {"role": "user", "content": "x", "turn_id": ""},
    {"role": "user"},
    {"role": "user", "content": "x", "colour": "red"},
    ["user", "x"],
]
BAD_STEPS = [
    {"step_name": " "},
    {"step_name": "x", "status": "exploded"},
    {"step_name": "x", "details": "not json"},
    {"step_name": "x", "started_at": "soon"},
    {"step_name": "x", "finished_at": "later"},
    {"step_name": "x", "run_id": "r-1"},
    "x",
]
EVENT = {"event_type": "info", "event_level": "low", "message": "x"}
BAD_EVENTS = [
    (EVENT | {"event_type": "gossip"}, InvalidInput, "event_type must be"),
    (EVENT | {"event_level": "loud"}, InvalidInput, "event_level must be"),
    (EVENT | {"message": ""}, InvalidInput, "message must be"),
    (EVENT | {"payload": "[1]"}, InvalidInput, "must be a JSON object"),
    (EVENT | {"run_id": ""}, InvalidInput, "id must be a non-empty text"),
    (EVENT | {"run_id": "gone"}, NotFound, "no workflow_runs row with id 'gone'"),
    (EVENT | {"step_id": "gone"}, NotFound, "no workflow_steps row with id 'gone'"),
    (EVENT | {"run_id": "r-2", "step_id": "s-0"}, InvalidInput, "step 's-0' belongs to run 'r-1'"),
]


def written_rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in (
            "conversation_turns",
            "workflow_steps",
            "task_events",
            "tommemory_turn_hours",
        ):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def refused_as(call) -> StoreError:
    with pytest.raises(StoreError) as refused:
        call()
    return refused.value


@pytest.fixture
def parents():
    """A session, and runs r-1 (steps s-0, s-1) and r-2, that refused batches write to."""
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "hello")
    run = store.start_workflow_run("w", trigger_source="agent", initiated_by="t", run_id="r-1")
    store.add_steps(
        run.pk, [{"step_name": "a", "step_id": "s-0"}, {"step_name": "b", "step_id": "s-1"}]
    )
    store.start_workflow_run("w", trigger_source="agent", initiated_by="t", run_id="r-2")
    return session.id


def with_bad(good: list, bad, place: int) -> tuple[list, int]:
    place = min(place, len(good))
    return [*good[:place], bad, *good[place:]], place


@given(
    good=st.lists(turns, max_size=4, unique_by=distinct_ids("turn_id")),
    bad=st.sampled_from(BAD_TURNS),
    place=st.integers(0, 4),
)
def test_one_turn_refused_refuses_the_batch_naming_it_and_nothing_is_written(
    parents, good, bad, place
):
    batch, place = with_bad(good, bad, place)
    before = written_rows()
    refusal = refused_as(lambda: store.append_turns(parents, batch))
    assert type(refusal) is InvalidInput
    if isinstance(bad, dict) and "content" in bad and "colour" not in bad:
        # Word for word what append_turn says of the same turn.
        single = refused_as(lambda: store.append_turn(parents, **bad))
        assert str(refusal) == f"turns[{place}]: {single}"
    else:
        assert str(refusal).startswith(f"turns[{place}]: ")
    assert written_rows() == before


@given(
    good=st.lists(steps, max_size=4, unique_by=distinct_ids("step_id")),
    bad=st.sampled_from(BAD_STEPS),
    place=st.integers(0, 4),
)
def test_one_step_refused_refuses_the_batch_naming_it_and_nothing_is_written(
    parents, good, bad, place
):
    batch, place = with_bad(good, bad, place)
    before = written_rows()
    refusal = refused_as(lambda: store.add_steps("r-1", batch))
    assert type(refusal) is InvalidInput
    assert str(refusal).startswith(f"steps[{place}]: ")
    assert written_rows() == before


@given(
    good=st.lists(event_values(LINKS), max_size=4, unique_by=distinct_ids("event_id")),
    bad=st.sampled_from(BAD_EVENTS),
    place=st.integers(0, 4),
)
def test_one_event_refused_refuses_the_batch_naming_it_and_nothing_is_written(
    parents, good, bad, place
):
    value, kind, says = bad
    batch, place = with_bad(good, value, place)
    before = written_rows()
    refusal = refused_as(lambda: store.add_events(batch))
    assert type(refusal) is kind
    # Word for word what add_event says of the same event.
    assert str(refusal) == f"events[{place}]: {refused_as(lambda: store.add_event(**value))}"
    assert says in str(refusal)
    assert written_rows() == before


def test_a_batch_that_is_no_list_is_refused(parents):
    for call in (
        lambda: store.append_turns(parents, {"role": "user", "content": "x"}),
        lambda: store.add_steps("r-1", "step"),
        lambda: store.add_events(None),
    ):
        with pytest.raises(InvalidInput, match="must be a list of mappings"):
            call()


def test_a_parent_missing_from_a_batch_across_parents_is_named_by_the_item_and_nothing_written(
    parents,
):
    before = written_rows()
    turns = [{"session_id": parents, "role": "user", "content": "x"},
             {"session_id": "gone", "role": "user", "content": "y"}]  # fmt: skip
    with pytest.raises(NotFound, match=r"^turns\[1\]: no sessions row with id 'gone'$"):
        store.append_turns_across(turns)
    with pytest.raises(NotFound, match=r"^steps\[0\]: no workflow_runs row with id 'gone'$"):
        store.add_steps_across([{"run_id": "gone", "step_name": "x"}])
    finishes = [{"run_id": "r-1", "status": "succeeded"}, {"run_id": "gone", "status": "failed"}]
    with pytest.raises(NotFound, match=r"^runs\[1\]: no workflow_runs row with id 'gone'$"):
        store.finish_workflow_runs(finishes)
    with pytest.raises(InvalidInput, match=r"^turns\[0\]: session_id is missing$"):
        store.append_turns_across([{"role": "user", "content": "x"}])
    with pytest.raises(InvalidInput, match=r"^runs\[0\]: a run finishes failed, succeeded"):
        store.finish_workflow_runs([{"run_id": "r-1", "status": "running"}])
    with pytest.raises(InvalidInput, match=r"^sessions\[1\]: actor must be a non-empty text"):
        store.start_sessions([{"actor": "tom"}, {"actor": " "}])
    with pytest.raises(InvalidInput, match=r"^runs\[0\]: a run starts queued or running"):
        store.start_workflow_runs(
            [
                {
                    "workflow_name": "w",
                    "trigger_source": "cron",
                    "initiated_by": "t",
                    "status": "failed",
                }
            ]
        )
    assert written_rows() == before
    assert store.workflow_replay("r-1").run.status == "running"
