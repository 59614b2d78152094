"""Normal limits: the default table and a lab's own CSV/TOML files."""

import pytest

from nerveconduct.limits import LimitsFileError, NormalLimits


class TestDefault:
    @pytest.mark.parametrize("nerve,amp,dml,cv,f,dist", [
        ("median", 4.0, 4.4, 49.0, 31.0, 70.0),
        ("ulnar", 6.0, 3.3, 49.0, 32.0, 70.0),
        ("peroneal", 2.0, 6.5, 44.0, 56.0, 90.0),
        ("tibial", 4.0, 5.8, 41.0, 56.0, 90.0),
    ])
    def test_values_of_criteria_md(self, nerve, amp, dml, cv, f, dist):
        row = NormalLimits.default().lookup(nerve)
        assert (row.amplitude_lln_mv, row.dml_uln_ms, row.cv_lln_m_s, row.f_wave_uln_ms,
                row.distal_distance_mm) == (amp, dml, cv, f, dist)

    def test_citation_and_missing(self):
        limits = NormalLimits.default()
        assert "Preston" in limits.citation
        assert limits.lookup("radial") is None


class TestFromFile:
    def test_csv_with_age_bands(self, tmp_path):
        p = tmp_path / "lab.csv"
        p.write_text("nerve,muscle,amplitude_lln_mv,dml_uln_ms,cv_lln_m_s,age_min_years,age_max_years\n"
                     "median,APB,5.0,4.2,50,,60\nmedian,APB,4.0,4.6,45,60,\nradial,EIP,2.0,,,,\n")
        limits = NormalLimits.from_file(p)
        assert limits.lookup("median", "APB", age_years=30).cv_lln_m_s == 50.0
        assert limits.lookup("median", "APB", age_years=70).cv_lln_m_s == 45.0
        row = limits.lookup("radial")
        assert row.amplitude_lln_mv == 2.0 and row.dml_uln_ms is None

    def test_toml(self, tmp_path):
        p = tmp_path / "lab.toml"
        p.write_text('name = "our lab"\ncitation = "Lab X 2024"\n[[limits]]\nnerve = "ulnar"\n'
                     'amplitude_lln_mv = 7.0\ncv_lln_m_s = 51\n')
        limits = NormalLimits.from_file(p)
        assert limits.name == "our lab" and limits.citation == "Lab X 2024"
        assert limits.lookup("ulnar").amplitude_lln_mv == 7.0

    def test_raises_unknown_column(self, tmp_path):
        p = tmp_path / "bad.csv"
        p.write_text("nerve,amp\nmedian,4\n")
        with pytest.raises(LimitsFileError, match=r"unknown column\(s\) \['amp'\]"):
            NormalLimits.from_file(p)

    def test_raises_non_numeric(self, tmp_path):
        p = tmp_path / "bad.csv"
        p.write_text("nerve,cv_lln_m_s\nmedian,fast\n")
        with pytest.raises(LimitsFileError, match="line 2: cv_lln_m_s must be a number, got 'fast'"):
            NormalLimits.from_file(p)

    def test_raises_unknown_nerve_and_suffix(self, tmp_path):
        p = tmp_path / "bad.csv"
        p.write_text("nerve,cv_lln_m_s\nsciatic-ish,40\n")
        with pytest.raises(LimitsFileError, match="unknown or missing nerve 'sciatic-ish'"):
            NormalLimits.from_file(p)
        q = tmp_path / "limits.xlsx"
        q.write_text("x")
        with pytest.raises(LimitsFileError, match="must be .csv or .toml"):
            NormalLimits.from_file(q)


class TestUnreadableFiles:
    """Whatever the bytes, a limits file gives limits or a LimitsFileError naming file and line."""

    @pytest.mark.parametrize(("data", "line"), [
        (b"\xff\xfen\x00e\x00r\x00v\x00e\x00\n\x00", 1),           # UTF-16 (byte-order mark)
        (b"nerve,cv_lln_m_s\nmedian,40\nulnar,\xe9\x00\x81\n", 3),  # binary garbage on line 3
    ])
    @pytest.mark.parametrize("suffix", [".csv", ".toml"])
    def test_not_utf8(self, tmp_path, data, line, suffix):
        p = tmp_path / f"lab{suffix}"
        p.write_bytes(data)
        with pytest.raises(LimitsFileError, match=rf"line {line}: text is not valid UTF-8") as err:
            NormalLimits.from_file(p)
        assert isinstance(err.value, ValueError) and not isinstance(err.value, UnicodeError)
        assert err.value.path == str(p) and err.value.location == f"line {line}"
        assert str(p) in str(err.value)

    def test_malformed_csv(self, tmp_path):
        p = tmp_path / "lab.csv"
        p.write_text('nerve,cv_lln_m_s\nmedian,40\n"ulnar,' + "x" * 200_000 + "\n")
        with pytest.raises(LimitsFileError, match=r"line 3: malformed comma-separated text"):
            NormalLimits.from_file(p)

    def test_extra_cells_and_bad_toml(self, tmp_path):
        p = tmp_path / "lab.csv"
        p.write_text("nerve,cv_lln_m_s\nmedian,40,7\n")
        with pytest.raises(LimitsFileError, match=str(p)):
            NormalLimits.from_file(p)
        q = tmp_path / "lab.toml"
        q.write_bytes(b"name = \x00\n")
        with pytest.raises(LimitsFileError, match="not valid TOML"):
            NormalLimits.from_file(q)
