"""The dashboard in a real headless Chromium against the API served over HTTP and a real worker."""
import os
import shutil
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

from app.embedded import free_port
from tests.integration.stack import wait_for
from tests.integration.test_pipeline import upload_texts
from tests.schema import migrate

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
SCREENSHOT = os.environ.get("BATCHERY_DASHBOARD_SCREENSHOT")  # a path: also save a picture for the README


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """The page reads only the API, so one database (SQLite) is enough for this module."""
    return migrate(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'batchery.sqlite3'}")


@pytest.fixture(scope="module")
def base_url(stack):
    """The stack's Flask app served over HTTP on a loopback port, for the browser."""
    server = make_server("127.0.0.1", free_port(), stack["app"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with the flags this closed network needs; quit at the end."""
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="batchery-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def text_of(driver, css: str) -> str | None:
    """The text of the first element matching `css`, or None (read in one script: the page redraws often)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css)


def bar_value(driver, batch_id: str) -> str | None:
    """The progress bar's aria-valuenow for this batch, or None while it is not drawn."""
    return driver.execute_script(
        "const e = document.querySelector(`.bar[data-batch='${arguments[0]}']`);"
        "return e ? e.getAttribute('aria-valuenow') : null;", batch_id)


def count_of(driver, css: str) -> int:
    """How many elements match `css` right now."""
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length;", css)


def test_the_batch_page_bar_moves_live_and_the_list_and_search_work(stack, base_url, browser):
    client = stack["client"]
    ids = upload_texts(client, 120, "dash")
    batch_id = client.post("/v1/batches", json={"collection_id": "dash", "object_ids": ids,
                                                "batch_name": "dashboard run"}).get_json()["batch_id"]

    browser.get(f"{base_url}/dashboard#/batches/{batch_id}")
    wait_for(lambda: text_of(browser, "#batch-status") == "DRAFT" and bar_value(browser, batch_id) == "0", 30,
             message="the batch page to show the draft at 0%")
    browser.execute_script("window.loadedOnce = true;")  # gone if the page were reloaded

    assert client.post(f"/v1/batches/{batch_id}/submit").status_code == 202
    seen = set()

    def finished_on_the_page():
        value = bar_value(browser, batch_id)
        if value is not None:
            seen.add(float(value))
        return text_of(browser, "#batch-status") == "COMPLETED" and value == "100"
    wait_for(finished_on_the_page, 120, interval=0.05, message="the page to show the batch completed at 100%")
    assert browser.execute_script("return window.loadedOnce === true;"), "the page reloaded instead of updating live"
    assert {0.0, 100.0} <= seen
    wait_for(lambda: text_of(browser, '[data-count="succeeded"] b') == "120", 30, message="the counts to be final")
    wait_for(lambda: count_of(browser, "#results tr") == 51, 30,
             message="the first page of results")
    assert "No errors." in text_of(browser, "#errors")
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)

    browser.get(f"{base_url}/dashboard#/")
    wait_for(lambda: "dashboard run" in (text_of(browser, "#batches") or ""), 30, message="the batches list")
    assert bar_value(browser, batch_id) == "100"

    browser.get(f"{base_url}/dashboard#/search")
    wait_for(lambda: count_of(browser, "#search-query"), 30, message="the search form")
    browser.find_element("css selector", "#search-query").send_keys("dash document 7")
    browser.find_element("css selector", "#search button").click()
    wait_for(lambda: "dash-" in (text_of(browser, "#hits") or ""), 30, message="search hits")



def test_user_text_is_shown_as_text_never_run_as_html(stack, base_url, browser):
    client = stack["client"]
    ids = upload_texts(client, 1, "xss")
    name = '<img src=x onerror="window.pwned=1">'
    batch_id = client.post("/v1/batches", json={"collection_id": "dash", "object_ids": ids,
                                                "batch_name": name}).get_json()["batch_id"]
    browser.get(f"{base_url}/dashboard#/batches/{batch_id}")
    wait_for(lambda: text_of(browser, "h1") == name, 30, message="the batch name shown literally")
    assert browser.execute_script("return window.pwned === undefined;")
