"""Script name (the path in ``agi://host/<name>``) to handler."""

from collections.abc import Mapping

from agi_scripts.greet import greet
from ivr import Handler

ROUTES: Mapping[str, Handler] = {"greet": greet}
