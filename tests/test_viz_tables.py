"""The book's one table helper."""

import numpy as np
import pytest

import crossview as cv


def test_a_table_draws_in_html_and_reads_as_text():
    t = cv.viz.table(["method", "MPJPE mm", "frames"], [("dlt", 12.345, 50), ("rpsm", 0.5, 50)],
                     caption="synthetic <frames>")
    html = t._repr_html_()
    assert "<caption>synthetic &lt;frames&gt;</caption>" in html
    assert ">12.3<" in html and ">50<" in html and "text-align:right" in html
    assert str(t).splitlines() == ["synthetic <frames>", "method | MPJPE mm | frames",
                                   "dlt | 12.3 | 50", "rpsm | 0.5 | 50"]


def test_best_values_of_each_block_are_bold():
    rows = [("clean", "dlt", 3.0, np.float64(80.0)), ("clean", "rpsm", 1.0, 90.0),
            ("noisy", "dlt", 70.0, 10.0), ("noisy", "rpsm", 50.0, 20.0)]
    html = cv.viz.table(["case", "method", "mm", "%"], rows, best="min", block=2)._repr_html_()
    assert html.count("<b>") == 4 and "<b>1.0</b>" in html and "<b>80.0</b>" in html
    assert "<b>50.0</b>" in html and "<b>10.0</b>" in html
    assert 'colspan="3"' in html and ">clean</th>" in html


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="best must be"):
        cv.viz.table(["a"], [(1.0,)], best="mean")
    with pytest.raises(ValueError, match="block must be >= 1"):
        cv.viz.table(["a"], [(1.0,)], block=0)
