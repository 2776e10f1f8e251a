"""The Prefect form names every parameter in finance words (`flows/parameters.py` TITLES), not by
its name in the code; the description still comes from the flow's docstring."""

from __future__ import annotations

import pytest
from prefect.utilities.callables import parameter_schema

from flows.delivery import deliver_flow
from flows.order_to_cash import STAGE_FLOWS, order_to_cash
from flows.parameters import ENGINEERS, TITLES

FLOWS = [order_to_cash, deliver_flow, *STAGE_FLOWS.values()]


@pytest.mark.parametrize("flow", FLOWS, ids=[f.name for f in FLOWS])
def test_every_parameter_has_a_title_and_a_description(flow) -> None:  # type: ignore[no-untyped-def]
    schema = parameter_schema(flow)
    for name, field in schema.properties.items():
        assert field["title"] == TITLES[name] and field["title"] != name, name
        assert field.get("description"), f"{flow.name}: {name} has no description in the docstring"


def test_the_form_of_the_pipeline_reads_in_finance_words() -> None:
    titles = [field["title"] for field in parameter_schema(order_to_cash).properties.values()]
    assert titles[:4] == [
        "Business date",
        "Dry run (show, write and send nothing)",
        "Stages to run",
        "Rules to apply",
    ]


@pytest.mark.parametrize("flow", FLOWS, ids=[f.name for f in FLOWS])
def test_the_form_offers_no_field_for_engineers_alone(flow) -> None:  # type: ignore[no-untyped-def]
    import inspect

    offered = set(parameter_schema(flow).properties)
    taken = set(inspect.signature(flow.fn).parameters)
    assert not offered & ENGINEERS, f"{flow.name}: {offered & ENGINEERS} on the finance form"
    assert offered == taken - ENGINEERS  # every other parameter is on the form
    if "home" in taken:  # an engineer's run through the API still gives it, and it is checked
        assert flow.validate_parameters({"home": "/srv/o2c"})["home"] == "/srv/o2c"
