"""The review server and session without a browser: token, binding, the API, re-analysis
through the one core, undo / back to detected, saving the markers file atomically, the
order of flagged traces, identifiers, and the command's first line and Ctrl-C.

The browser itself is driven in ``test_review_browser.py``.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.io import read_case
from nerveconduct.io.markers import Marker, MarkerError, read_markers
from nerveconduct.model import Case, NerveStudy
from nerveconduct.review import TOKEN_HEADER, ReviewError, ReviewServer, ReviewSession
from nerveconduct.simulate import simulate_nerve

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
#: antimag_case.toml, left median: Wrist (70 mm) and Elbow (+230 mm).
MEDIAN, WRIST, ELBOW = 0, 0, 1
ELBOW_MM = 230.0


@pytest.fixture(scope="module")
def case():
    return read_case(SAMPLES / "antimag_case.toml")


@pytest.fixture()
def served(case, tmp_path):
    """A running server on a fresh session of the anti-MAG case: (server, markers path)."""
    out = tmp_path / "case.markers.json"
    server = ReviewServer(ReviewSession(case, reviewer="AB"), out)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, out
    server.shutdown()
    server.server_close()


def _request(server, path, *, body=None, token=True, header=True, host=None):
    """(status, parsed JSON or text) of one request."""
    url = f"http://127.0.0.1:{server.port}{path}"
    if token and not header:
        url += ("&" if "?" in url else "?") + f"token={server.token}"
    req = urllib.request.Request(url, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode())
    if token and header:
        req.add_header(TOKEN_HEADER, server.token)
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, data, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, data, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
    text = data.decode("utf-8")
    return status, json.loads(text) if ctype.startswith("application/json") else text


def _cv(state):
    return state["nerves"][MEDIAN]["record"]["segments"][0]["conduction_velocity_m_s"]


def _onset(state, site):
    return state["nerves"][MEDIAN]["record"]["sites"][site]["onset_latency_ms"]


# ---------------------------------------------------------------------------------- safety
class TestToken:
    @pytest.mark.parametrize("path", ["/", "/report", "/api/state", "/nope"])
    def test_missing_token_is_403_and_nothing_else(self, served, path):
        server, _ = served
        status, body = _request(server, path, token=False)
        assert status == 403
        assert body == "forbidden\n"

    def test_wrong_token_is_403(self, served):
        server, _ = served
        def other(char):  # a different character (the token is random: it may hold "x")
            return "y" if char == "x" else "x"

        url = f"http://127.0.0.1:{server.port}/?token={server.token[:-1]}{other(server.token[-1])}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=30)
        assert err.value.code == 403
        req = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/state",
                                     headers={TOKEN_HEADER: other(server.token[0]) + server.token[1:]})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 403

    def test_api_needs_the_header_pages_the_query(self, served):
        server, _ = served
        assert _request(server, "/api/state", header=False)[0] == 403  # query token on the API
        assert _request(server, "/", header=True)[0] == 403            # header on the page
        assert _request(server, "/", header=False)[0] == 200
        assert _request(server, "/api/state")[0] == 200

    def test_post_without_token_changes_nothing(self, served):
        server, _ = served
        change = {"set": [{"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": 15.0}]}
        assert _request(server, "/api/markers", body=change, token=False)[0] == 403
        assert server.session.markers == [] and not server.session.dirty

    def test_other_host_name_is_403(self, served):
        server, _ = served
        assert _request(server, "/api/state", host=f"evil.example:{server.port}")[0] == 403
        assert _request(server, "/api/state", host=f"localhost:{server.port}")[0] == 200

    def test_token_is_long_and_random(self, case, tmp_path):
        a = ReviewServer(ReviewSession(case), tmp_path / "a.json")
        b = ReviewServer(ReviewSession(case), tmp_path / "b.json")
        try:
            assert a.token != b.token and len(a.token) >= 40
            assert a.url == f"http://127.0.0.1:{a.port}/?token={a.token}"
        finally:
            a.server_close()
            b.server_close()


def test_bound_to_loopback_only(served):
    server, _ = served
    assert server.socket.getsockname()[0] == "127.0.0.1"
    assert server.server_address[0] == "127.0.0.1"


def test_page_has_no_external_resource(served):
    server, _ = served
    status, html = _request(server, "/", header=False)
    assert status == 200
    assert re.findall(r"https?://", html) == []  # no URL at all: nothing to fetch elsewhere
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html)
    assert "@import" not in html and "url(" not in html


# ---------------------------------------------------------------------------------- the API
def test_state_has_traces_records_verdicts(served, case):
    server, _ = served
    status, state = _request(server, "/api/state")
    assert status == 200
    assert len(state["nerves"]) == len(case.studies) == len(state["traces"])
    st = case.studies[MEDIAN]
    tr = state["traces"][MEDIAN]
    assert tr["dt_ms"] == pytest.approx(1000.0 / st.sampling_rate_hz)
    assert len(tr["mv"]) == st.n_sites and len(tr["mv"][0]) == st.traces.shape[1]
    # physical polarity in mV, rounded to 0.01 µV
    sign = -1.0 if st.polarity == "negative-up" else 1.0
    np.testing.assert_allclose(tr["mv"][WRIST], sign * st.traces[WRIST], atol=5e-6)
    assert set(state["patient"]) == {"efns-pns-2010-mmn", "ean-pns-2021-cidp"}
    assert state["nerves"][MEDIAN]["record"]["segments"][0]["verdicts"]
    assert state["markers"] == [] and state["dirty"] is False


def test_moving_an_onset_reanalyzes_through_the_core(served, case):
    server, _ = served
    _, before = _request(server, "/api/state")
    t = 16.25
    status, after = _request(server, "/api/markers", body={"set": [
        {"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": t}]})
    assert status == 200
    assert "traces" not in after  # changes answer without re-sending the traces
    assert _onset(after, ELBOW) == t
    # CV = segment distance / onset difference, the distal onset unchanged
    assert _onset(after, WRIST) == _onset(before, WRIST)
    assert _cv(after) == pytest.approx(ELBOW_MM / (t - _onset(before, WRIST)), rel=1e-12)
    assert _cv(after) < 0.7 * 49.0 < _cv(before)  # now >= 30 % below the median LLN (49 m/s)
    site = after["nerves"][MEDIAN]["record"]["sites"][ELBOW]
    assert site["onset_latency_source"] == "hand-set"
    assert after["nerves"][MEDIAN]["record"]["sites"][WRIST]["onset_latency_source"] == "detected"
    items = after["nerves"][MEDIAN]["record"]["verdicts"]["ean-pns-2021-cidp"]["items_met"]
    assert "b" in items and "b" not in before["nerves"][MEDIAN]["record"]["verdicts"]["ean-pns-2021-cidp"]["items_met"]
    # the same values as the analysis called directly with the same marker
    direct = analyze_nerves(case.studies, markers=server.session.markers)[MEDIAN]
    assert direct.segments[0].conduction_velocity_m_s == _cv(after)
    m = after["markers"][0]
    assert (m["nerve"], m["site"], m["marker"], m["time_ms"], m["by"]) == (MEDIAN, ELBOW, "onset", t, "AB")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["at"])
    assert after["dirty"] is True and after["can_undo"] is True


@pytest.mark.parametrize("change, words", [
    ({"nerve": 9, "site": 0, "marker": "onset", "time_ms": 5.0}, "nerve index from 0 to 1"),
    ({"nerve": 0, "site": 2, "marker": "onset", "time_ms": 5.0}, "site index of nerve 0 from 0 to 1"),
    ({"nerve": 0, "site": 0, "marker": "onst", "time_ms": 5.0}, "did you mean 'onset'"),
    ({"nerve": 0, "site": 0, "marker": "onset", "time_ms": -0.5}, "after the stimulus"),
    ({"nerve": 0, "site": 0, "marker": "onset", "time_ms": 1e6}, "after the stimulus"),
    ({"nerve": 0, "site": 0, "marker": "onset", "time_ms": "5"}, "finite number of ms"),
    ({"nerve": 0, "site": 0, "marker": "onset", "time_ms": 60.0}, "after the end of the trace"),
    ({"nerve": 0, "site": 0, "marker": "onset", "time_ms": 5.0, "who": "x"}, "unknown key"),
])
def test_bad_change_is_400_with_what_is_allowed(served, change, words):
    server, _ = served
    status, body = _request(server, "/api/markers", body={"set": [change]})
    assert status == 400
    assert words in body["error"]
    assert server.session.markers == []  # nothing applied


def test_bad_body_is_400(served):
    server, _ = served
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/markers", method="POST",
                                 data=b"{not json", headers={TOKEN_HEADER: server.token})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400 and "JSON object" in json.loads(err.value.read())["error"]


def test_unmatched_marker_is_an_error_naming_it(case):
    with pytest.raises(MarkerError, match=r"onset marker on median left, site Knee.*matches no trace"):
        ReviewSession(case, markers=[Marker("median", "left", "Knee", "onset", 5.0)])


def test_loaded_markers_are_matched_case_insensitively(case):
    s = ReviewSession(case, markers=[Marker("Median", "L", "ELBOW", "onset", 16.25)])
    state = s.state(traces=False)
    assert [(m["nerve"], m["site"], m["marker"]) for m in state["markers"]] == [(MEDIAN, ELBOW, "onset")]
    assert _onset(state, ELBOW) == 16.25 and not s.dirty


def test_undo_and_back_to_detected(served):
    server, _ = served
    s = server.session
    detected = _onset(s.state(traces=False), ELBOW)
    s.set_markers([{"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": 15.0}])
    s.set_markers([{"nerve": MEDIAN, "site": WRIST, "marker": "onset", "time_ms": 9.0}])
    assert len(s.markers) == 2
    state = _request(server, "/api/undo", body={})[1]
    assert [(m["site"], m["time_ms"]) for m in state["markers"]] == [(ELBOW, 15.0)]
    state = _request(server, "/api/detected", body={"nerve": MEDIAN, "site": ELBOW, "marker": "onset"})[1]
    assert state["markers"] == [] and _onset(state, ELBOW) == detected and not state["dirty"]
    s.set_markers([{"nerve": 0, "site": 0, "marker": "onset", "time_ms": 9.0},
                   {"nerve": 1, "site": 1, "marker": "negative_peak", "time_ms": 12.0}])
    assert len(_request(server, "/api/detected", body={})[1]["markers"]) == 0  # all of them
    assert _request(server, "/api/undo", body={})[1]["markers"] != []           # undo that too
    assert _request(server, "/api/detected", body={"site": 1})[0] == 400       # site needs a nerve


def test_absent_replaces_the_landmarks_of_its_trace(served):
    s = served[0].session
    s.set_markers([{"nerve": 0, "site": 1, "marker": "onset", "time_ms": 15.0}])
    state = s.set_markers([{"nerve": 0, "site": 1, "marker": "absent"}])
    assert [m["marker"] for m in state["markers"]] == ["absent"]
    site = state["nerves"][0]["record"]["sites"][1]
    assert site["present"] is False and site["onset_latency_ms"] is None
    state = s.set_markers([{"nerve": 0, "site": 1, "marker": "onset", "time_ms": 15.0}])
    assert [m["marker"] for m in state["markers"]] == ["onset"]


def test_save_writes_the_markers_file(served, case):
    server, out = served
    _request(server, "/api/markers", body={"set": [
        {"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": 16.25}]})
    status, state = _request(server, "/api/save", body={})
    assert status == 200 and state["saved"] == out.name and state["dirty"] is False
    (m,) = read_markers(out)
    assert (m.nerve, m.side, m.site, m.marker, m.time_ms, m.by) == ("median", "left", "Elbow", "onset", 16.25, "AB")
    # the file reproduces the reviewed values
    again = analyze_nerves(case.studies, markers=read_markers(out))[MEDIAN]
    assert again.segments[0].conduction_velocity_m_s == _cv(server.session.state(traces=False))


def test_save_is_atomic(served, monkeypatch):
    """A save that fails half-way leaves the previous file whole, no temporary file behind,
    and the changes still unsaved."""
    server, out = served
    s = server.session
    s.set_markers([{"nerve": 0, "site": 1, "marker": "onset", "time_ms": 15.0}])
    s.save(out)
    before = out.read_bytes()
    s.set_markers([{"nerve": 0, "site": 1, "marker": "onset", "time_ms": 16.0}])
    import nerveconduct.io.markers as markers_module

    def broken_dump(obj, fh, **kwargs):
        fh.write('{"version": 1, "markers": [')  # half a file, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(markers_module.json, "dump", broken_dump)
    status, body = _request(server, "/api/save", body={})
    assert status == 500 and body["error"] == f"could not write {out.name}: No space left on device"
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert s.dirty


# ---------------------------------------------------------------------------------- order
def _study(name, seed, *, nan=False):
    sim = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=seed)
    st = sim.to_studies()[0]
    traces = np.array(st.traces, dtype=float)
    if nan:
        traces[1, traces.shape[1] // 2:] = np.nan  # a broken sweep: a quality flag
    return NerveStudy(name, "right", None, st.sites, traces, st.sampling_rate_hz,
                      stimulus_sample=st.stimulus_sample, polarity=st.polarity,
                      metadata={"patient_name": "Doe^Jane", "patient_id": "123-45"})


def test_flagged_traces_come_first():
    case = Case(studies=[_study("median", 1), _study("ulnar", 2, nan=True)], case_id="C-1")
    state = ReviewSession(case).state(traces=False)
    assert state["order"] == [1, 0]
    assert [(t["nerve"], t["site"]) for t in state["to_review"]] == [(1, 1)]
    assert "NAN_SAMPLES" in state["to_review"][0]["flags"]


def test_identifiers_only_when_asked(tmp_path):
    case = Case(studies=[_study("median", 1)], case_id="C-1")
    hidden = json.dumps(ReviewSession(case).state())
    assert "Doe" not in hidden and "123-45" not in hidden
    shown = ReviewSession(case, keep_identifiers=True).state(traces=False)
    assert shown["case"]["patient_name"] == "Doe^Jane" and shown["case"]["patient_id"] == "123-45"


def test_session_refuses_bad_arguments(case):
    with pytest.raises(TypeError, match="case must be a Case"):
        ReviewSession(case.studies)
    with pytest.raises(ReviewError, match="no nerve study"):
        ReviewSession(Case(studies=[]))
    with pytest.raises(ReviewError, match="non-empty list"):
        ReviewSession(case).set_markers([])


def test_report_has_the_current_markers(served):
    server, _ = served
    status, before = _request(server, "/report", header=False)
    assert status == 200 and "Motor nerve conduction report" in before
    _request(server, "/api/markers", body={"set": [
        {"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": 16.25}]})
    cv = _cv(server.session.state(traces=False))
    status, after = _request(server, "/report", header=False)
    assert status == 200 and f"{cv:.1f}" in after and after != before


# ---------------------------------------------------------------------------------- command
def _start(args, shim_pythonpath, cwd):
    env = dict(os.environ)
    if shim_pythonpath is not None:
        env["PYTHONPATH"] = shim_pythonpath
    proc = subprocess.Popen([sys.executable, "-m", "nerveconduct_cli", "review", *map(str, args),
                             "--no-browser"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url:  # the command ended before serving: show why
        proc.wait(timeout=60)
        pytest.fail(f"review printed no URL (exit {proc.returncode}): {proc.stderr.read()}")
    return proc, url


def _post(url, path, body):
    base, token = url.split("/?token=")
    req = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                 headers={TOKEN_HEADER: token})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("save_on_exit", [False, True])
def test_command_prints_the_url_first_and_stops_on_ctrl_c(tmp_path, shim_pythonpath, save_on_exit):
    out = tmp_path / "m.json"
    args = [SAMPLES / "antimag_case.toml", "-o", out, "--reviewer", "AB"]
    proc, url = _start(args + (["--save-on-exit"] if save_on_exit else []), shim_pythonpath, tmp_path)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{40,}", url), url
        state = _post(url, "/api/markers", {"set": [
            {"nerve": MEDIAN, "site": ELBOW, "marker": "onset", "time_ms": 16.25}]})
        assert state["dirty"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    if save_on_exit:
        assert proc.returncode == 0, err
        assert "saved 1 hand-set marker(s)" in err
        assert [m.time_ms for m in read_markers(out)] == [16.25]
    else:
        assert proc.returncode == 130, err
        assert "were NOT saved" in err and "Traceback" not in err
        assert not out.exists()


def test_command_refuses_to_overwrite_another_file(tmp_path, shim_pythonpath):
    out = tmp_path / "m.json"
    out.write_text("{}")
    env = dict(os.environ)
    if shim_pythonpath is not None:
        env["PYTHONPATH"] = shim_pythonpath
    done = subprocess.run([sys.executable, "-m", "nerveconduct_cli", "review",
                           str(SAMPLES / "antimag_case.toml"), "-o", str(out), "--no-browser"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "--overwrite" in done.stderr
    assert done.stdout == "" and out.read_text() == "{}"


def test_command_names_an_unmatched_marker_in_one_line(tmp_path):
    from click.testing import CliRunner

    from nerveconduct_cli.main import main

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "markers": [
        {"nerve": "median", "side": "L", "site": "Knee", "marker": "onset", "time_ms": 5.0}]}))
    done = CliRunner().invoke(main, ["review", str(SAMPLES / "antimag_case.toml"), "--markers",
                                     str(bad), "-o", str(tmp_path / "m.json"), "--no-browser"])
    assert done.exit_code == 1, done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "onset marker on median L, site Knee" in errors[0]
    assert "matches no trace" in errors[0] and done.stdout == ""  # no URL: nothing served
