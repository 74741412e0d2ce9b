"""The built page in a real headless browser (Debian chromium + chromium-driver, driven by selenium).

A listener loads the page from file://, consents, plays every sound of every trial to the
end, answers, finishes, and the results (shown on the page, downloaded, and POSTed where a
URL was given) are checked against the key.
"""

import json
import random
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from listen_fixtures import MARKUP_STEM, MARKUP_TEXT, check_result, make_inputs
from voiceflow.listen.build import build_test

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:                                     # pragma: no cover - skipped below
    webdriver = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    webdriver is None or not CHROMIUM or not CHROMEDRIVER,
    reason="needs Debian chromium and chromium-driver (apt) and selenium (pip); tools/install.sh installs them")


@pytest.fixture(scope="module")
def driver():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--window-size=1100,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    d.set_script_timeout(10)
    yield d
    d.quit()


@pytest.fixture
def collector():
    """A local results server that answers CORS preflights, as an experimenter's would."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def _headers(self, code):
            self.send_response(code)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Private-Network", "true")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_OPTIONS(self):
            self._headers(204)

        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self._headers(200)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/results", received
    server.shutdown()
    server.server_close()


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/results"


def build(tmp_path, kind, n_items=3, **kw):
    inputs = make_inputs(tmp_path / "in", n_items=n_items)
    reference = inputs["reference"] if kind in ("smos", "cmos", "mushra") else None
    out = tmp_path / "web" / kind
    key = build_test(kind, inputs["systems"], out, reference=reference, log=lambda m: None, **kw)
    html = (out / "index.html").read_text(encoding="utf-8")
    for name, directory in inputs["systems"]:
        assert name not in html and str(directory) not in html
    assert all(p.stem in key["stimuli"] for p in (out / "audio").iterdir())
    return out, key


def answer_trial(driver, key, trial_id, kind, rng):
    """Answer the trial on screen; returns what the results file must then say."""
    if kind == "attention":
        expected = key["trials"][trial_id]["expected"]
        driver.find_element(By.CSS_SELECTOR, f'#controls input[value="{expected}"]').click()
        return {"answer": expected}
    if kind == "mushra":
        ratings = {}
        for slider in driver.find_elements(By.CSS_SELECTOR, '#players input[type="range"]'):
            sid = slider.get_attribute("data-stimulus")
            slider.click()
            role = key["stimuli"][sid]["role"]
            slider.send_keys(Keys.END if role == "hidden_reference" else Keys.HOME if role == "anchor"
                             else Keys.ARROW_LEFT * rng.randint(1, 20))
            ratings[sid] = int(slider.get_attribute("value"))
        return {"ratings": ratings}
    values = {"mos": range(1, 6), "smos": range(1, 6), "cmos": range(-3, 4)}.get(kind)
    if kind == "ab":
        radios = driver.find_elements(By.CSS_SELECTOR, '#controls input[type="radio"]')
        pick = rng.choice(radios)
        value = pick.get_attribute("value")
        pick.click()
        return {"choice": None if value == "none" else value}
    value = rng.choice(list(values))
    driver.find_element(By.CSS_SELECTOR, f'#controls input[value="{value}"]').click()
    if kind == "cmos":
        return {"cmos": value}
    rated = driver.find_elements(By.CSS_SELECTOR, "#players .row")[-1].get_attribute("data-stimulus")
    return {"ratings": {rated: value}}


# resolves once the row's sound has played to the end (its media "ended" event fired)
WAIT_ENDED = """
var row = arguments[0], done = arguments[arguments.length - 1];
(function poll() { if (row.dataset.ended === "1") done(true); else setTimeout(poll, 10); })();
"""


def locked(driver):
    """([disabled state of every answer control], Next disabled), in one round trip."""
    return driver.execute_script(
        "return [Array.from(document.querySelectorAll('#controls input, #players input'))"
        ".map(function (i) { return i.disabled; }), document.getElementById('next').disabled];")


def run_listener(driver, page, key, listener, downloads, seed=0, texts=False):
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.get((page / "index.html").as_uri())
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    start = driver.find_element(By.ID, "start")
    assert not start.is_enabled()                                     # consent first
    field = driver.find_element(By.ID, "listener")
    field.clear()
    field.send_keys(listener)
    driver.find_element(By.ID, "consent").click()
    assert start.is_enabled()
    start.click()
    rng, n, given = random.Random(seed), len(key["trials"]), {}
    for i in range(n):
        WebDriverWait(driver, 5).until(
            lambda d: d.find_element(By.ID, "progress-text").text == f"Trial {i + 1} of {n}")
        section = driver.find_element(By.ID, "trial")
        trial_id, kind = section.get_attribute("data-trial"), section.get_attribute("data-kind")
        if texts and key["trials"][trial_id]["item"] == MARKUP_STEM and kind != "attention":
            transcript = driver.find_element(By.ID, "transcript")
            assert transcript.get_property("textContent") == MARKUP_TEXT
            assert not driver.find_elements(By.CSS_SELECTOR, "#transcript *")
        rows = driver.find_elements(By.CSS_SELECTOR, "#players .row")
        answers_off, next_off = locked(driver)
        assert answers_off and all(answers_off) and next_off              # nothing to answer before playback
        for j, row in enumerate(rows):
            row.find_element(By.CSS_SELECTOR, "button.play").click()
            assert driver.execute_async_script(WAIT_ENDED, row)
            if j < len(rows) - 1:                                       # still locked: not all played
                assert all(locked(driver)[0])
        answers_off, next_off = locked(driver)
        assert not any(answers_off) and next_off                        # unlocked; Next waits for an answer
        given[trial_id] = answer_trial(driver, key, trial_id, kind, rng)
        next_button = driver.find_element(By.ID, "next")
        assert next_button.is_enabled()
        next_button.click()
    WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "done").is_displayed())
    result = json.loads(driver.find_element(By.ID, "results").get_attribute("value"))
    link = driver.find_element(By.ID, "download")
    link.click()
    path = downloads / link.get_attribute("download")
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(path.read_text(encoding="utf-8")) == result
    check_result(result, key)
    assert result["listener"] == listener
    for t in result["trials"]:
        assert {k: t[k] for k in given[t["trial"]]} == given[t["trial"]]
    # the order the listener got is the page's reproducible plan for that listener id
    plan = driver.execute_script("return voiceflowPlan(arguments[0])", listener)
    by_position = sorted(result["trials"], key=lambda t: t["position"])
    assert [t["trial"] for t in by_position] == [p["id"] for p in plan]
    assert [t["stimuli"][-len(p["stimuli"]):] for t, p in zip(by_position, plan)] == [p["stimuli"] for p in plan]
    return result


def plans(driver, listeners):
    return [driver.execute_script("return voiceflowPlan(arguments[0]).map(function (t) { return [t.id, t.stimuli]; })",
                                  lid) for lid in listeners]


def console_errors(driver, allowed=()):
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)]


def test_mos_page_end_to_end_with_post(driver, tmp_path, collector):
    url, received = collector
    page, key = build(tmp_path, "mos", attention_checks=1, texts=True, post_url=url)
    driver.get_log("browser")
    result = run_listener(driver, page, key, "alice <b>&", tmp_path, texts=True)
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "post-status").get_attribute("data-state") != "sending")
    assert driver.find_element(By.ID, "post-status").get_attribute("data-state") == "sent"
    assert received == [result]
    assert sum(t["attention"] for t in result["trials"]) == 1
    alice, alice_again, bob = plans(driver, ["alice <b>&", "alice <b>&", "bob"])
    assert alice == alice_again and [t[0] for t in alice] != [t[0] for t in bob]
    assert console_errors(driver) == []


def test_mushra_page_end_to_end_post_failure_still_offers_download(driver, tmp_path):
    page, key = build(tmp_path, "mushra", attention_checks=1, post_url=closed_port_url())
    driver.get_log("browser")
    result = run_listener(driver, page, key, "listener-2", tmp_path, seed=1)
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "post-status").get_attribute("data-state") == "failed")
    assert "download" in driver.find_element(By.ID, "post-status").text
    roles = key["stimuli"]
    for t in result["trials"]:
        if not t["attention"]:
            assert roles[t["stimuli"][0]]["role"] == "reference" and t["stimuli"][0] not in t["ratings"]
            by_role = {roles[s]["role"]: v for s, v in t["ratings"].items() if roles[s]["role"] != "test"}
            assert by_role == {"hidden_reference": 100, "anchor": 0}
    orders = [tuple(tuple(t[1]) for t in sorted(p)) for p in plans(driver, ["a", "b", "c", "d"])]
    assert len(set(orders)) > 1                                      # conditions shuffled per listener
    assert console_errors(driver, allowed=["ERR_CONNECTION_REFUSED", "Failed to fetch"]) == []


@pytest.mark.parametrize("kind", ["smos", "cmos", "ab"])
def test_pair_tests_end_to_end(driver, tmp_path, kind):
    page, key = build(tmp_path, kind, n_items=4 if kind == "cmos" else 3, attention_checks=0)
    driver.get_log("browser")
    run_listener(driver, page, key, f"{kind}-listener", tmp_path, seed=2)
    assert console_errors(driver) == []
    if kind == "cmos":   # reference first in exactly half of each system's trials, for every listener
        for plan in plans(driver, [f"L{i}" for i in range(8)]):
            first = reference_first_by_system(plan, key)
            assert sorted(first.values()) == [2, 2], first


def reference_first_by_system(plan, key):
    counts = {}
    for trial_id, shown in plan:
        system = key["trials"][trial_id]["systems"][0]
        counts[system] = counts.get(system, 0) + (key["stimuli"][shown[0]]["role"] == "reference")
    return counts
