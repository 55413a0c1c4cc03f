import pytest

from services.errors import FileFormatError
from services.themes import THEME_IDS, contrast_ratio, load_theme, render_stylesheet


@pytest.mark.parametrize("theme_id", THEME_IDS)
def test_every_theme_loads_and_fills_every_placeholder(theme_id):
    theme = load_theme(theme_id)
    assert "{{" not in theme.stylesheet
    assert theme.name


@pytest.mark.parametrize("theme_id", THEME_IDS)
def test_text_is_readable_in_every_theme(theme_id):
    c = load_theme(theme_id).colors
    # WCAG AA for body text is 4.5:1; every text-on-background pair must meet it.
    pairs = [("text", "base"), ("window_text", "window"), ("button_text", "button"),
             ("highlighted_text", "highlight"), ("tooltip_text", "tooltip_base"), ("window_text", "header"),
             ("text", "alternate_base")]
    for fg, bg in pairs:
        assert contrast_ratio(c[fg], c[bg]) >= 4.5, (theme_id, fg, bg, contrast_ratio(c[fg], c[bg]))
    # Hints and problems need to be legible too, if less prominent.
    for fg in ("placeholder_text", "error", "warning", "link"):
        assert contrast_ratio(c[fg], c["base"]) >= 3.0, (theme_id, fg)


def test_unknown_placeholder_is_an_error():
    with pytest.raises(FileFormatError):
        render_stylesheet("QWidget { color: {{nope}}; }", {"text": "#000000"})


def test_incomplete_theme_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.toml").write_text('name = "Broken"\n[colors]\nwindow = "red"\n')
    (tmp_path / "base.qss").write_text("")
    with pytest.raises(FileFormatError) as info:
        load_theme("broken", tmp_path)
    assert "incomplete" in info.value.message
