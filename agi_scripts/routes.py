"""Script name (the path in ``agi://host/<name>``) to handler."""

from collections.abc import Mapping

from agi_scripts.call import call
from agi_scripts.callback import callback
from agi_scripts.common import with_services
from agi_scripts.greet import greet
from agi_scripts.services import Services
from agi_scripts.survey import survey
from ivr import Handler

# Handlers that need nothing but the channel.
ROUTES: Mapping[str, Handler] = {"greet": greet}


def make_routes(services: Services) -> Mapping[str, Handler]:
    """Every script the dialplan calls, wired to the node's services."""
    return {
        **ROUTES,
        "call": with_services(call, services),
        "callback": with_services(callback, services),
        "survey": with_services(survey, services),
    }
