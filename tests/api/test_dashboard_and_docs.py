"""The dashboard page and /docs are served by the app itself: no CDN, no data without a key."""
import re


def test_docs_load_swagger_ui_from_this_server(client):
    page = client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000, asset


def test_an_unknown_docs_asset_is_a_404_in_the_error_shape(client):
    response = client.get("/docs/assets/../../app/__init__.py")
    assert response.status_code == 404
    assert response.get_json()["error"]["type"] == "not_found"


def test_the_dashboard_is_a_static_shell_whose_assets_are_local(keyed_client):
    page = keyed_client.get("/dashboard")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert {a.rsplit("/", 1)[1] for a in assets} == {"dashboard.css", "dashboard.js"}
    assert "http://" not in html and "https://" not in html
    for asset in assets:
        assert keyed_client.get(asset).status_code == 200
    # The shell holds no tenant data: the API it calls still asks for the key.
    assert keyed_client.get("/v1/batches").status_code == 401
