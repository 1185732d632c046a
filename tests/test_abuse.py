"""chat.limits.abuse: the 5th refusal within a window is abuse."""

from chat.limits.abuse import ABUSE_REFUSALS, RefusalWindow


def test_fifth_refusal_within_the_window():
    window = RefusalWindow()
    assert [window.refuse(t, 10) for t in range(ABUSE_REFUSALS)] == [False] * 4 + [True]


def test_refusals_older_than_the_window_are_forgotten():
    window = RefusalWindow()
    for t in (0, 1, 2, 3):
        window.refuse(t, 10)
    assert window.refuse(20, 10) is False
    assert len(window.times) == 1
