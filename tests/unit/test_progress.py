"""Progress lines: done of total, rate and time left, every few percent."""

from workshop_dagster.minds.progress import Progress


def test_progress_reports_every_five_percent_with_rate_and_time_left():
    now = [0.0]
    lines: list[str] = []
    progress = Progress(200, lines.append, clock=lambda: now[0])
    for _ in range(200):
        now[0] += 0.5
        progress.advance()
    assert len(lines) == 20
    assert lines[0] == "10/200 cycles (5%), 2.0/s, about 1 min 35 s left"
    assert lines[-1] == "200/200 cycles (100%), 2.0/s, done"


def test_a_short_range_reports_each_cycle_and_the_end_once():
    lines: list[str] = []
    progress = Progress(3, lines.append, clock=lambda: 1.0)
    for _ in range(3):
        progress.advance()
    assert [line.split(" (")[0] for line in lines] == ["1/3 cycles", "2/3 cycles", "3/3 cycles"]


def test_on_a_terminal_the_line_is_a_bar_redrawn_in_place_and_elsewhere_nothing():
    import io

    from workshop_dagster.minds.progress import to_terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term, pipe = Terminal(), io.StringIO()
    to_terminal("15/60 cycles (25%), 2.0/s, about 22 s left", term)
    to_terminal("60/60 cycles (100%), 2.0/s, done", term)
    to_terminal("60/60 cycles (100%), 2.0/s, done", pipe)
    assert term.getvalue().startswith("\r[" + "#" * 7 + "." * 23 + "] 15/60 cycles (25%)")
    assert term.getvalue().endswith("done\033[K\n") and pipe.getvalue() == ""
