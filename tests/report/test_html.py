import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from coderank.errors import UsageError
from coderank.report.html import _environment, slug, write_report
from coderank.store import Store

from .runs import make_run

pytest.importorskip("matplotlib", reason="the HTML report needs matplotlib: pip install 'coderank[report]'")

HOSTILE = "<script>alert('x')</script> \"$evil$\" & co"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sample_store(path=":memory:") -> Store:
    """Four runs on the same 8 problems: three greedy, one sampled (n=10, so it has pass@10 and differs)."""
    store = Store(path)
    make_run(store, "alpha-coder-7b", [1, 1, 1, 0, 1, 1, 0, 1])
    make_run(store, "beta-coder-3b", [1, 1, 0, 0, 1, 0, 1, 1])
    make_run(store, HOSTILE, [1, 0, 0, 0, 1, 0, 0, 1])
    make_run(store, "gamma-sampled-1.5b", [9, 7, 2, 0, 10, 5, 1, 8], n=10, temperature=0.8)
    return store


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    # Module-scoped (a report takes ~1 s); the autouse per-test home is not set up yet, so set our own.
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CODERANK_HOME", str(home))
        store = sample_store()
        index = write_report(store, tmp_path_factory.mktemp("report"))
        store.close()
    return index


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(index: Path) -> _Tags:
    parser = _Tags()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def reported_only_charts() -> list[str]:
    """One leaderboard chart per bundled reported benchmark that no sample run covers (e.g. mbpp-plus)."""
    from coderank.report.reported import load_reported

    return sorted(f"{slug(b)}-leaderboard.png" for b in {e.benchmark for e in load_reported()} - {"humaneval"})


def test_report_writes_index_and_one_png_per_chart(report):
    names = sorted(p.name for p in report.parent.glob("*.png"))
    assert report.name == "index.html" and report.is_file()
    assert names == sorted(["humaneval-duel.png", "humaneval-leaderboard.png", "humaneval-passk.png",
                            "humaneval-problems.png", *reported_only_charts()])


def test_charts_are_valid_pngs_of_sensible_size(report):
    import matplotlib.image

    for png in report.parent.glob("*.png"):
        width, height = png_size(png)
        low = 200 if png.name in reported_only_charts() else 250  # a chart of one reported bar is shorter
        assert 400 <= width <= 2500 and low <= height <= 2500, (png.name, width, height)
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[:2] == (height, width)
        assert pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.05, f"{png.name} is blank"


def test_every_image_in_the_page_is_a_local_file_that_exists(report):
    images = [a["src"] for tag, a in parse(report).tags if tag == "img"]
    assert len(images) == 4 + len(reported_only_charts())
    for src in images:
        assert src and "/" not in src and (report.parent / src).is_file()


def test_measured_rows_in_order_with_intervals_and_not_comparable_marks(report):
    html = report.read_text()
    measured = html[html.index('<table class="measured">'):html.index("</table>")]
    rows = re.findall(r'<td class="model">(.*?)</td>', measured)
    # the comparable (greedy) runs are ranked, best first; the sampled run (0.55) is not ranked with them
    assert rows == ["alpha-coder-7b", "beta-coder-3b",
                    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;$evil$&#34; &amp; co", "gamma-sampled-1.5b"]
    assert measured.count("95% interval") == 1 and len(re.findall(r"\[0\.\d{3}, [01]\.\d{3}\]", measured)) >= 3
    assert "pass@10" in measured  # the sampled run's extra k
    assert measured.count("≠ not comparable") == 1 and "decoding: chat, T=0.8" in measured


def test_reported_numbers_are_in_their_own_section_with_source_and_date(report):
    html = report.read_text()
    reported = html[html.index('<section class="reported">'):]
    reported = reported[:reported.index("</section>")]
    assert "not measured by coderank" in reported and "GPT-4" in reported
    assert "arXiv:2303.08774" in reported and "2023-03-15" in reported
    assert "alpha-coder-7b" not in reported


def test_duel_matrix_and_ranking_are_shown(report):
    html = report.read_text()
    duel = html[html.index('<table class="duel">'):]
    duel = duel[:duel.index("</table>")]
    assert duel.count('<td class="diag">') == 4 and duel.count('<td class="cell') == 12
    assert "Bradley-Terry ranking" in html and '<table class="ranking">' in html


def test_nothing_is_loaded_from_the_network(report):
    page = parse(report)
    loads = {"script": "src", "img": "src", "link": "href", "iframe": "src", "source": "src", "embed": "src",
             "object": "data", "video": "src", "audio": "src", "frame": "src"}
    for tag, attrs in page.tags:
        if tag in loads and attrs.get(loads[tag]):
            assert not re.match(r"^\s*(https?:)?//", attrs[loads[tag]] or "", re.I), (tag, attrs)
    assert not [t for t, _ in page.tags if t == "script"], "the report has no scripts"
    html = report.read_text()
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import", html, re.I)
    assert "default-src 'none'" in html  # the CSP forbids other loads, too
    links = [a["href"] for tag, a in page.tags if tag == "a" and (a.get("href") or "").startswith("http")]
    assert links and all(href.startswith("https://") for href in links)  # plain links to sources only


def test_hostile_model_name_is_escaped_everywhere(report):
    html = report.read_text()
    assert "<script>" not in html and "alert('x')" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    for tag, attrs in parse(report).tags:  # attribute values (titles) stay inside their quotes
        assert tag != "script" and not any(name.startswith("on") for name in attrs)


def test_no_reported_leaves_out_the_reported_section(tmp_path):
    store = sample_store()
    index = write_report(store, tmp_path, reported=False)
    html = index.read_text()
    assert '<section class="reported">' not in html and "GPT-4" not in html
    assert "Reported numbers are hidden" in html


def test_unknown_benchmark_is_a_usage_error(tmp_path):
    store = sample_store()
    with pytest.raises(UsageError, match="no finished run of benchmark 'nope'") as info:
        write_report(store, tmp_path, benchmark="nope")
    assert "humaneval" in info.value.hint


def test_empty_store_gives_a_page_that_says_so(tmp_path):
    index = write_report(Store(":memory:"), tmp_path, reported=False)
    assert 'id="no-runs"' in index.read_text() and not list(tmp_path.glob("*.png"))


def test_templates_are_strict_and_autoescaped():
    from jinja2 import StrictUndefined, UndefinedError

    env = _environment()
    assert env.undefined is StrictUndefined and env.autoescape is True
    with pytest.raises(UndefinedError):
        env.get_template("report.html.j2").render()


@pytest.mark.parametrize(("name", "safe"), [("humaneval", "humaneval"), ("../../etc/passwd", None),
                                             ("bench with spaces/and:colons", None), ("", None)])
def test_chart_file_names_are_safe(name, safe):
    out = slug(name)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", out) and ".." not in out.replace("...", "")
    assert out == safe if safe else out != name


def test_cli_report_writes_the_folder_and_prints_json(cli, tmp_path):
    db = tmp_path / "runs.db"
    sample_store(db).close()
    code, out, err = cli("report", "--out", str(tmp_path / "site"), "--store", str(db), "--no-reported", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["index"] == str(tmp_path / "site" / "index.html") and doc["benchmarks"] == ["humaneval"]
    assert len(doc["charts"]) == 4 and all(Path(c).is_file() for c in doc["charts"])
    code, out, _ = cli("report", "--out", str(tmp_path / "site2"), "--store", str(db), "-b", "humaneval")
    assert code == 0 and "wrote" in out and (tmp_path / "site2" / "index.html").is_file()


def test_cli_report_unknown_benchmark_exits_2(cli, tmp_path):
    db = tmp_path / "runs.db"
    sample_store(db).close()
    code, _, err = cli("report", "--out", str(tmp_path / "site"), "--store", str(db), "-b", "mbpp")
    assert code == 2 and "no finished run of benchmark 'mbpp'" in err


def test_missing_matplotlib_says_which_extra(tmp_path, monkeypatch):
    from coderank.errors import CoderankError

    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(CoderankError, match="needs matplotlib") as info:
        write_report(sample_store(), tmp_path)
    assert "report" in info.value.hint and not list(tmp_path.iterdir())


def test_partial_runs_stay_out_of_the_ranking_and_few_problems_carry_a_caution(tmp_path):
    # the report: models ranked "on the 1 problems all these runs share" with zero-width intervals
    store = Store(":memory:")
    for name, passed in (("one", [1, 1, 0]), ("two", [1, 0, 0]), ("three", [0, 0, 1])):
        make_run(store, name, passed)
    make_run(store, "tiny", [1], of=3)
    html = write_report(store, tmp_path, reported=False).read_text()
    measured = html[html.index('<table class="measured">'):]
    measured = measured[:measured.index("</table>")]
    partial = html[html.index('<table class="partial">'):]
    partial = partial[:partial.index("</table>")]
    assert "tiny" not in measured and "tiny" in partial and "1 of 3" in partial
    ranking = html[html.index('<table class="ranking">'):]
    assert "tiny" not in ranking[:ranking.index("</table>")]
    assert "On the 3 problems all these runs share" in html
    assert "Caution: only 3 common problem(s): too few for the intervals and P(first) to mean much" in html
    assert "1 common problem(s): too few to mean much" in html  # the duel cells with the partial run
