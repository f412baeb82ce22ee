"""flask-smorest's Blueprint with Batchery's own arguments parser, so the contract's input rules live in one place."""
import flask_smorest
from webargs.flaskparser import FlaskParser

from app.api.requests import read_json


class ArgumentsParser(FlaskParser):
    """webargs for every `@blp.arguments`: unknown query parameters are a 422 like unknown fields; JSON as the contract reads it."""

    # None: each schema's own `unknown` (RAISE) applies to query strings too, instead of webargs' EXCLUDE.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def load_json(self, req, schema):
        """The body parsed as JSON whatever its Content-Type; empty is missing, malformed is a 400."""
        return read_json()


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint whose arguments go through ArgumentsParser (the shared parser stays untouched)."""

    ARGUMENTS_PARSER = ArgumentsParser()
