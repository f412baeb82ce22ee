"""The dashboard: one page for people — batches with live progress, a batch's details, search over a collection."""
from flask import Blueprint, render_template

# The page is a static shell: every number it shows is fetched from the API with the user's key, so it
# carries the API's auth without a second mechanism (a browser cannot send a Bearer header on navigation).
blp = Blueprint("dashboard", __name__, url_prefix="/dashboard", static_folder="static",
                template_folder="templates")


@blp.get("")
@blp.get("/")
def dashboard():
    """The dashboard page (data comes from /v1 with the key the page asks for)."""
    return render_template("dashboard.html")
